# Lobbys Sätze auf Deutsch (förmliche Anrede „Sie“). Fehlt hier ein Schlüssel, wird Englisch
# angezeigt (locales/en.ftl ist die Referenz). Markup in -html-Schlüsseln wie im Englischen.

## Jede gehostete Seite
skip-to-content = Zum Inhalt springen
logo-alt = Logo von { $name }
secured-by = Gesichert durch Lobby
request-id-lead = Wenn Sie sich an den Support wenden, nennen Sie bitte diese Anfrage-ID:

## Seitentitel
title-sign-in = Anmelden
title-password = Passwort eingeben
title-choose-org = Organisation auswählen
title-access-denied = Zugriff verweigert
title-sign-out-failed = Abmeldung fehlgeschlagen
title-unavailable = Anmeldung nicht verfügbar
title-problem = Problem bei der Anmeldung
title-sign-out = Abmelden
title-signed-out = Abgemeldet
title-invited = Sie wurden eingeladen
title-invite-done = Willkommen
title-reset = Passwort zurücksetzen
title-password-changed = Passwort geändert
title-new-password = Neues Passwort wählen
title-signing-in = Anmeldung läuft
title-demo = Lobby-Demo-App

## Schaltflächen, Beschriftungen, Links
button-continue = Weiter
button-sign-in = Anmelden
button-sign-out = Abmelden
button-send-link = Link senden
button-change-password = Passwort ändern
label-email = E-Mail-Adresse
label-password = Passwort
label-new-password = Neues Passwort
label-new-password-again = Neues Passwort wiederholen
label-choose-password = Passwort wählen
label-password-again = Passwort wiederholen
link-change-email = Andere E-Mail-Adresse verwenden
link-forgot-password = Passwort vergessen?
link-back-to-sign-in = Zurück zur Anmeldung
link-new-link = Neuen Link anfordern
link-back-to-app = Zurück zur Anwendung

## Anmeldung: E-Mail, Passwort, Auswahl der Organisation
login-lead-html = Weiter zu <strong>{ $app }</strong> mit Ihrer geschäftlichen E-Mail-Adresse.
password-lead-html = Anmeldung bei <strong>{ $app }</strong> als <strong id="signed-in-as">{ $email }</strong>.
chooser-lead-html = Ihr Konto gehört zu mehreren Organisationen. Wählen Sie die Organisation, mit der Sie sich bei <strong>{ $app }</strong> anmelden.
chooser-list-label = Organisationen
chooser-last-used = (zuletzt verwendet)
email-invalid = Geben Sie eine E-Mail-Adresse wie name@example.com ein.
wrong-password = Die E-Mail-Adresse oder das Passwort ist falsch.
locked-out = Zu viele fehlgeschlagene Anmeldeversuche. Warten Sie 15 Minuten und versuchen Sie es dann erneut.

## Abmeldung
logout-confirm = Möchten Sie sich von allen Anwendungen abmelden, die diese Anmeldung verwenden?
logged-out = Sie wurden abgemeldet. Sie können dieses Fenster jetzt schließen.

## SAML-Weiterleitung
saml-post-lead = Sie werden zur Anmeldeseite Ihrer Organisation weitergeleitet …
saml-post-noscript = JavaScript ist deaktiviert: Klicken Sie auf die Schaltfläche, um fortzufahren.

## Fehlerseite (PageError)
error-unknown-client = Dieser Anmeldelink ist ungültig: Die Anwendung ist nicht registriert. Kehren Sie zur Anwendung zurück und versuchen Sie es erneut, oder wenden Sie sich an deren Support.
error-bad-redirect-uri = Dieser Anmeldelink ist ungültig: Seine Rücksprungadresse passt nicht zur Registrierung der Anwendung. Wenden Sie sich an den Support der Anwendung.
error-bad-request = Diese Anmeldeanfrage ist ungültig. Kehren Sie zur Anwendung zurück und starten Sie die Anmeldung erneut.
error-too-large = Diese Anmeldeanfrage ist zu groß. Kehren Sie zur Anwendung zurück und starten Sie die Anmeldung erneut.
error-flow-expired = Dieser Anmeldeversuch ist abgelaufen oder wurde bereits abgeschlossen. Kehren Sie zur Anwendung zurück und melden Sie sich erneut an.
error-wrong-browser = Dieser Anmeldeversuch wurde in einem anderen Browser oder Fenster begonnen. Kehren Sie zur Anwendung zurück und melden Sie sich in diesem Browser erneut an.
error-csrf = Dieses Formular ist abgelaufen oder wurde nicht von dieser Seite gesendet. Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es erneut.
error-no-access = Sie haben keinen Zugriff auf diese Anwendung. Bitten Sie die Administration Ihrer Organisation, Ihnen Zugriff zu geben.
error-org-not-allowed = Mit diesem Konto können Sie sich nicht bei dieser Organisation anmelden. Gehen Sie zurück und wählen Sie eine der aufgeführten Organisationen.
error-sso-not-available = Die Anmeldung dieser Organisation ist noch nicht verfügbar. Wenden Sie sich an Ihre IT-Administration.
error-logout-invalid = Diese Abmeldeanfrage ist ungültig, daher wurden Sie nicht abgemeldet. Kehren Sie zur Anwendung zurück und versuchen Sie es erneut.
error-unavailable = Die Anmeldung ist vorübergehend nicht verfügbar. Versuchen Sie es in einigen Minuten erneut.
error-busy = Gerade melden sich sehr viele Personen an. Warten Sie einen Moment und versuchen Sie es erneut.
error-too-many-requests = Aus Ihrem Netzwerk kamen zu viele Anmeldeanfragen. Warten Sie eine Minute und versuchen Sie es erneut.
error-server = Bei uns ist ein Fehler aufgetreten. Versuchen Sie es in einigen Minuten erneut.
error-unknown = Bei der Anmeldung ist ein Fehler aufgetreten. Kehren Sie zur Anwendung zurück und versuchen Sie es erneut.

## Föderierte Anmeldung (pages::sso)
sso-idp-said-html = Die Anmeldung Ihrer Organisation meldete: <q id="idp-detail">{ $detail }</q>
sso-unreachable = Der Anmeldedienst Ihrer Organisation war nicht erreichbar oder hat nicht rechtzeitig geantwortet. Versuchen Sie es in einigen Minuten erneut; wenn das Problem bestehen bleibt, wenden Sie sich an Ihre IT-Administration.
sso-misconfigured = Die Anmeldung Ihrer Organisation ist nicht richtig eingerichtet, daher können Sie nicht angemeldet werden. Wenden Sie sich an Ihre IT-Administration.
sso-rejected = Die Anmeldung Ihrer Organisation hat eine Antwort gesendet, die unsere Sicherheitsprüfungen nicht bestanden hat, daher wurden Sie nicht angemeldet. Kehren Sie zur Anwendung zurück und versuchen Sie es erneut; wenn das Problem bestehen bleibt, wenden Sie sich an Ihre IT-Administration.
sso-mismatch = Diese Anmeldeantwort gehört nicht zu der Anmeldung, die in diesem Browser begonnen wurde, daher wurden Sie nicht angemeldet. Kehren Sie zur Anwendung zurück und melden Sie sich erneut an.
sso-idp-error = Die Anmeldung Ihrer Organisation hat Sie nicht angemeldet.
sso-idp-denied = Die Anmeldung wurde auf der Anmeldeseite Ihrer Organisation abgebrochen oder abgelehnt.
sso-not-recent = Diese Anwendung verlangt, dass Sie sich soeben erneut angemeldet haben, und die Anmeldung Ihrer Organisation hat das nicht getan. Kehren Sie zur Anwendung zurück und melden Sie sich erneut an.
sso-connection-unavailable = Die Anmeldung dieser Organisation ist für diese Anwendung nicht verfügbar. Wenden Sie sich an Ihre IT-Administration.
sso-org-no-access = Ihre Organisation hat keinen Zugriff auf diese Anwendung. Wenden Sie sich an Ihre IT-Administration.
sso-portal-not-admin = Sie sind kein Administrator dieser Organisation und können sich daher nicht im Verwaltungsportal anmelden.
sso-email-missing = Die Anmeldung Ihrer Organisation hat uns Ihre E-Mail-Adresse nicht mitgeteilt, daher können Sie nicht angemeldet werden. Wenden Sie sich an Ihre IT-Administration.
sso-email-not-verified = Die Anmeldung Ihrer Organisation hat Ihre E-Mail-Adresse nicht bestätigt, daher können Sie nicht angemeldet werden. Wenden Sie sich an Ihre IT-Administration.
sso-invitation-invalid = Diese Einladung wurde bereits verwendet, zurückgezogen oder ist abgelaufen. Bitten Sie die Administration Ihrer Organisation um eine neue Einladung.
sso-invitation-wrong-org = Diese Einladung gilt für eine andere Organisation. Melden Sie sich mit dem Konto dieser Organisation an oder fordern Sie eine neue Einladung an.
sso-invitation-email-mismatch = Diese Einladung wurde an eine andere E-Mail-Adresse gesendet als die des Kontos, mit dem Sie sich angemeldet haben. Melden Sie sich mit dem eingeladenen Konto an oder fordern Sie eine neue Einladung an.
sso-not-provisioned = Sie haben noch keinen Zugriff auf diese Anwendung. Bitten Sie die Administration Ihrer Organisation, Sie einzuladen.
sso-membership-suspended = Ihr Zugang zu dieser Organisation ist gesperrt. Wenden Sie sich an die Administration Ihrer Organisation.

## Passwort zurücksetzen
forgot-lead = Geben Sie die E-Mail-Adresse ein, mit der Sie sich anmelden. Wir senden Ihnen einen Link, mit dem Sie ein neues Passwort wählen können.
reset-lead-html = Wählen Sie ein neues Passwort für <strong id="reset-email">{ $email }</strong>. Verwenden Sie mindestens 8 Zeichen; am besten ist ein langer Satz, auf den nur Sie kommen.
reset-sent = Wenn diese E-Mail-Adresse zu einem Konto gehört, das sich mit einem Passwort anmeldet, haben wir einen Link zum Wählen eines neuen Passworts dorthin gesendet. Der Link funktioniert einmal und 30 Minuten lang. Sehen Sie in Ihrem Posteingang und im Spam-Ordner nach.
reset-unknown = Dieser Link zum Zurücksetzen des Passworts ist ungültig. Prüfen Sie, ob Sie den vollständigen Link kopiert haben, oder fordern Sie einen neuen an.
reset-used = Dieser Link zum Zurücksetzen des Passworts wurde bereits verwendet. Wenn Sie Ihr Passwort nicht geändert haben, fordern Sie einen neuen Link an.
reset-expired = Dieser Link zum Zurücksetzen des Passworts ist abgelaufen: Links gelten 30 Minuten. Fordern Sie einen neuen an.
passwords-differ = Die beiden Passwörter stimmen nicht überein. Geben Sie sie erneut ein.
reset-limited = Aus Ihrem Netzwerk kamen zu viele Anfragen zum Zurücksetzen von Passwörtern. Warten Sie eine Stunde und versuchen Sie es dann erneut.
password-too-short = Wählen Sie ein Passwort mit mindestens 8 Zeichen.
password-too-long = Wählen Sie ein Passwort mit höchstens 256 Zeichen.
password-common = Dieses Passwort ist zu verbreitet und leicht zu erraten. Wählen Sie ein anderes.
password-is-email = Verwenden Sie nicht Ihre E-Mail-Adresse als Passwort.
password-changed = Ihr Passwort wurde geändert und Sie wurden überall abgemeldet. Kehren Sie zur Anwendung zurück und melden Sie sich mit Ihrem neuen Passwort an.

## Einladungsseiten
invite-summary-html = <strong id="inviter">{ $inviter }</strong> hat Sie eingeladen, <strong id="org-name">{ $org }</strong> in <strong id="app-name">{ $app }</strong> beizutreten.
invite-for-html = Einladung für <strong id="invited-email">{ $email }</strong>.
invite-sso = Sie melden sich mit Ihrem Konto von { $org } als { $email } an.
invite-sso-button = Weiter zur Anmeldung von { $org }
invite-existing = Sie haben bereits ein Passwort für { $email }. Nehmen Sie die Einladung an und melden Sie sich dann damit an.
invite-accept-button = Einladung annehmen
invite-password-hint = Mindestens 8 Zeichen. Ein langer Satz ist leicht zu merken und schwer zu erraten.
invite-set-password-button = Annehmen und Passwort festlegen
invite-done-html = Geschafft: Sie sind jetzt Mitglied von <strong>{ $org }</strong>.
invite-next-signed-in = Öffnen Sie { $app } und melden Sie sich an: Da Sie hier bereits angemeldet sind, gelangen Sie direkt hinein.
invite-next-password = Öffnen Sie { $app } und melden Sie sich mit Ihrer E-Mail-Adresse und Ihrem Passwort an.
inviter-admin-of = Ein Administrator von { $org }
invite-unknown = Dieser Einladungslink ist ungültig. Öffnen Sie den Link aus der Einladungs-E-Mail erneut und prüfen Sie, ob er vollständig ist.
invite-accepted = Diese Einladung wurde bereits angenommen. Melden Sie sich bei der Anwendung an, um fortzufahren.
invite-expired = Diese Einladung ist abgelaufen. Bitten Sie die Person, die Sie eingeladen hat, eine neue zu senden.
invite-revoked = Diese Einladung wurde von der Organisation zurückgezogen. Wenden Sie sich an deren Administration, falls Sie weiterhin Zugriff benötigen.
invite-unavailable = Diese Einladung kann nicht verwendet werden: Die Organisation oder die Anwendung ist nicht mehr verfügbar.

## Einladungs-E-Mail
mail-invite-subject = { $inviter } hat Sie zu { $org } in { $app } eingeladen
mail-invite-heading = Ihre Einladung zu { $app }
mail-invite-lead = { $inviter } hat Sie eingeladen, { $org } in { $app } beizutreten.
mail-invite-lead-html = { $inviter } hat Sie eingeladen, <strong>{ $org }</strong> in <strong>{ $app }</strong> beizutreten.
mail-invite-accept = Einladung annehmen
mail-invite-accept-text = Einladung annehmen:
mail-invite-next-sso = Sie melden sich mit Ihrem Konto von { $org } an.
mail-invite-next-password = Sie wählen ein Passwort für Ihr Konto.
mail-invite-expires = Der Link funktioniert einmal und läuft { $expires } ab.
mail-invite-paste = Falls die Schaltfläche nicht funktioniert, fügen Sie diese Adresse in Ihren Browser ein:
mail-invite-ignore = Falls Sie diese Einladung nicht erwartet haben, ignorieren Sie diese E-Mail: Es geschieht nichts, solange Sie den Link nicht öffnen.
mail-invite-footer = Anmeldung gesichert durch Lobby
mail-invite-no-app = Ihr Konto
mail-expiry = am { $day }. { $month } { $year } um { $time } UTC
month-1 = Januar
month-2 = Februar
month-3 = März
month-4 = April
month-5 = Mai
month-6 = Juni
month-7 = Juli
month-8 = August
month-9 = September
month-10 = Oktober
month-11 = November
month-12 = Dezember

## E-Mail zum Zurücksetzen des Passworts
mail-reset-subject = Ihr Passwort für { $brand } zurücksetzen
mail-reset-intro = Jemand hat angefordert, das Passwort des Kontos { $email } bei { $brand } zurückzusetzen.
mail-reset-intro-html = Jemand hat angefordert, das Passwort des Kontos <strong>{ $email }</strong> bei <strong>{ $brand }</strong> zurückzusetzen.
mail-reset-open = Um ein neues Passwort zu wählen, öffnen Sie diesen Link innerhalb von 30 Minuten (er funktioniert nur einmal):
mail-reset-button = Neues Passwort wählen
mail-reset-copy = Oder kopieren Sie diese Adresse in Ihren Browser:
mail-reset-ignore = Falls Sie das nicht angefordert haben, ignorieren Sie diese Nachricht: Ihr Passwort bleibt unverändert.
mail-reset-footer = { $brand }, gesichert durch Lobby

## Portal: jede Seite
portal-name = Lobby-Portal
portal-skip = Zum Inhalt springen
portal-nav-label = Portal-Navigation
portal-operator-badge = Betreiber
portal-sign-out = Abmelden
portal-footer-request = Anfrage
portal-language = Sprache
portal-language-apply = Sprache ändern
portal-language-invalid = Wählen Sie eine Sprache aus der Liste.
portal-nav-home = Organisationen
portal-nav-overview = Übersicht
portal-nav-members = Mitglieder
portal-nav-invitations = Einladungen
portal-nav-connections = Anmeldeverbindungen
portal-nav-domains = Domains
portal-nav-branding = Erscheinungsbild
portal-nav-audit = Audit-Protokoll
portal-nav-children = Untergeordnete Organisationen
portal-nav-operator = Alle Organisationen

## Portal: Fehlerseiten
portal-error-signed-out-title = Abgemeldet
portal-error-signed-out = Ihre Portal-Sitzung ist beendet. Melden Sie sich erneut an und wiederholen Sie dann Ihre letzte Aktion.
portal-error-csrf-title = Formular abgelaufen
portal-error-csrf = Dieses Formular ist abgelaufen. Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es noch einmal.
portal-error-not-found-title = Seite nicht gefunden
portal-error-not-found = Diese Seite gibt es nicht, oder Sie haben keinen Zugriff darauf. Prüfen Sie die Adresse oder kehren Sie zur Startseite des Portals zurück.
portal-error-invalid-title = Bitte prüfen Sie Ihre Eingabe
portal-error-internal-title = Etwas ist schiefgelaufen
portal-error-internal = Bei uns ist etwas schiefgelaufen. Versuchen Sie es in ein paar Minuten noch einmal.
portal-error-field = Feld:
portal-error-sign-in-again = Erneut anmelden
portal-error-home = Zur Startseite des Portals
portal-error-request-id = Wenn Sie sich an den Support wenden, nennen Sie bitte diese Anfrage-ID:

## Portal: Übersicht einer Organisation
portal-overview-title = Übersicht
portal-fact-name = Name
portal-fact-slug = Kurzname
portal-fact-status = Status
portal-fact-parent = Übergeordnete Organisation
portal-fact-your-roles = Ihre Rollen
portal-org-active = Aktiv
portal-org-suspended = Gesperrt
portal-overview-inherited = (von einer übergeordneten Organisation)
portal-overview-what = Was Sie hier tun können
portal-about-members = Wer zu dieser Organisation gehört, ihre Rollen, Sperrung und Entfernung.
portal-about-invitations = Personen per E-Mail einladen; offene Einladungen erneut senden oder widerrufen.
portal-about-connections = Verbinden Sie Ihren Identitätsanbieter (SAML oder OIDC), damit sich Ihre Leute darüber anmelden.
portal-about-domains = Bestätigen Sie die E-Mail-Domains, die Ihrer Organisation gehören.
portal-about-branding = Ihr Name, Logo und Ihre Farbe auf der Anmeldeseite.
portal-about-audit = Jede Änderung in dieser Organisation und alle Anmeldungen.
portal-about-children = Organisationen unterhalb dieser Organisation.

## Portal: Mitglieder
portal-members-title = Mitglieder
portal-members-invite = Jemanden einladen
portal-members-filter-label = Mitglieder filtern
portal-members-search = Suchen
portal-members-search-placeholder = E-Mail-Adresse oder Name
portal-members-status = Status
portal-members-role = Rolle
portal-members-app = App
portal-members-apply = Anwenden
portal-members-any-status = Jeder Status
portal-members-filter-active = Aktiv
portal-members-filter-suspended = Gesperrt
portal-members-filter-invited = Eingeladen
portal-members-any-role = Jede Rolle
portal-members-org-role-option = Organisationsrolle: { $role }
portal-members-any-app = Jede App
portal-members-count-one = { $count } Mitglied gefunden.
portal-members-count = { $count } Mitglieder gefunden.
portal-members-none = Keine Mitglieder gefunden.
portal-members-limit-invalid = Die Seitengröße (limit) muss zwischen 1 und 500 liegen.
portal-col-email = E-Mail-Adresse
portal-col-name = Name
portal-col-status = Status
portal-col-org-roles = Organisationsrollen
portal-col-app-roles = App-Rollen
portal-pages-label = Seiten
portal-first-page = Erste Seite
portal-next-page = Nächste Seite
portal-member-status-active = aktiv
portal-member-status-suspended = gesperrt
portal-member-status-invited = eingeladen
portal-member-unknown = (unbekannt)
portal-bad-role = Wählen Sie Rollen aus der Liste.

## Portal: ein Mitglied
portal-member-title = Mitglied
portal-member-back = ← Alle Mitglieder
portal-member-no-apps = Diese Organisation hat keine App mit Rollen, die sie vergeben darf.
portal-member-outside = (für diese Organisation nicht mehr erlaubt: zum Entfernen abwählen)
portal-member-save-roles = App-Rollen speichern
portal-member-org-roles-hint = Mit Organisationsrollen kann ein Mitglied diese Organisation im Portal verwalten.
portal-member-choose-org-roles = Organisationsrollen wählen
portal-member-save-org-roles = Organisationsrollen speichern
portal-member-access = Zugang
portal-member-is-self = Das sind Sie. Wenn Sie sich selbst sperren oder entfernen, verlieren Sie Ihren eigenen Zugang zum Portal.
portal-member-reactivate = Wieder aktivieren
portal-member-suspend = Sperren…
portal-member-remove = Aus der Organisation entfernen…
portal-org-role-org-admin = Alles in dieser Organisation: Anmeldeverbindungen, Domains, Erscheinungsbild, Mitglieder, untergeordnete Organisationen.
portal-org-role-member-admin = Nur Mitglieder und Einladungen.
portal-org-role-viewer = Sieht alles, ändert nichts.
portal-member-roles-saved = Die App-Rollen wurden gespeichert.
portal-member-org-roles-saved = Die Organisationsrollen wurden gespeichert.
portal-member-suspended = Das Mitglied ist gesperrt.
portal-member-reactivated = Das Mitglied ist wieder aktiv.
portal-member-removed = Das Mitglied wurde aus dieser Organisation entfernt.

## portal: home, sign-in and sign-out, forms, confirmations
portal-home-title = Ihre Organisationen
portal-home-operator = Alle Organisationen (Betreiber)
portal-home-none = Sie verwalten keine Organisation.
portal-home-under = unter { $parent }
portal-signed-out-title = Abgemeldet
portal-signed-out = Sie haben sich vom Portal abgemeldet.
portal-signed-out-lobby = In diesem Browser sind Sie weiterhin bei Lobby angemeldet, daher ist für eine erneute Anmeldung kein Passwort nötig. Um auch das zu beenden,
portal-signed-out-lobby-link = melden Sie sich von Lobby ab
portal-signin-problem-title = Problem bei der Anmeldung
portal-signin-button = Anmelden
portal-signin-start-again = Diese Anmeldung konnte nicht abgeschlossen werden (sie ist abgelaufen oder wurde in einem anderen Fenster begonnen). Melden Sie sich erneut an.
portal-signin-refused = Die Anmeldung wurde abgebrochen oder abgelehnt.
portal-form-unreadable = Das Formular konnte nicht gelesen werden.
portal-form-malformed = Das Formular war unvollständig oder fehlerhaft. Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es noch einmal.
portal-copy = Kopieren
portal-save = Speichern
portal-delete = Löschen
portal-clear = Zurücksetzen
portal-open = Öffnen
portal-none = (keine)
portal-field-rule = „{ $label }“ { $rule }.
portal-label-slug = Kurzname
portal-label-short-name = Kurzname
portal-label-name = Name
portal-label-domain = Domain
portal-label-display-name = Anzeigename
portal-label-logo-url = Logo-URL
portal-label-primary-colour = Primärfarbe
portal-label-value = Wert
portal-label-description = Beschreibung
portal-label-roles = Rollen
portal-label-allowed-role-groups = Erlaubte Rollengruppen
portal-label-redirect-uris = Redirect-URIs
portal-label-sign-out-redirect-uris = Redirect-URIs nach der Abmeldung
portal-label-invitation-validity = Gültigkeit der Einladung
portal-label-client-type = Client-Typ

## portal: sentences of the admin service shown on portal pages
portal-svc-slug = muss aus 2 bis 63 Kleinbuchstaben, Ziffern oder einzelnen Bindestrichen bestehen und darf nicht mit einem Bindestrich beginnen oder enden
portal-svc-name = muss 1 bis 200 Zeichen lang sein, ohne Steuerzeichen
portal-svc-domain = muss ein DNS-Domainname aus mindestens zwei Teilen sein, etwa example.com
portal-svc-color = muss eine Farbe wie #1a2b3c sein
portal-svc-https-url = muss eine absolute https-URL sein
portal-svc-max-2000 = darf höchstens 2000 Zeichen lang sein
portal-svc-max-1000 = darf höchstens 1000 Zeichen lang sein
portal-svc-email = muss eine E-Mail-Adresse wie name@example.com sein
portal-svc-role-value = ein Rollenwert muss aus 1 bis 128 Buchstaben, Ziffern, „_“, „.“, „:“ oder „-“ bestehen und mit einem Buchstaben oder einer Ziffer beginnen
portal-svc-redirect-required = mindestens eine Redirect-URI ist nötig
portal-svc-invite-ttl = muss zwischen 300 Sekunden und 90 Tagen liegen
portal-svc-client-id = muss aus 1 bis 128 sichtbaren ASCII-Zeichen bestehen, ohne „:“, Anführungszeichen oder Backslashes
portal-svc-len-255 = muss 1 bis 255 Zeichen lang sein
portal-svc-len-1024 = muss 1 bis 1024 Zeichen lang sein
portal-svc-absolute-url = muss eine absolute URL sein
portal-svc-http-url = muss eine http(s)-URL ohne Query und Fragment sein
portal-svc-openid-scope = muss „openid“ enthalten
portal-svc-metadata-size = darf höchstens 1 MB groß sein
portal-svc-own-parent = eine Organisation kann nicht ihre eigene übergeordnete Organisation sein
portal-svc-own-ancestor = eine Organisation kann nicht über sich selbst stehen
portal-svc-not-linked = die Organisation ist nicht mit dieser App verknüpft
portal-svc-group-parent = die Rollengruppe { $group } ist für die übergeordnete Organisation bei dieser App nicht erlaubt
portal-svc-group-missing = die Rollengruppe { $group } gibt es in der App { $app } nicht
portal-svc-group-other-app = die Rollengruppe { $group } gehört nicht zur App { $app }
portal-svc-group-child = die Rollengruppe { $group } ist für die untergeordnete Organisation { $child } noch erlaubt; entfernen Sie sie zuerst dort
portal-svc-member-role-outside = das Mitglied { $member } hat noch die Rolle „{ $role }“, die außerhalb der erlaubten Rollengruppen läge; ändern Sie zuerst seine Rollen
portal-svc-role-not-allowed = die Rolle „{ $role }“ gehört zu keiner der Rollengruppen, die diese Organisation vergeben darf
portal-svc-role-not-of-app = die Rolle „{ $role }“ ist keine Rolle der App { $app }
portal-svc-roles-max = höchstens 500 Rollen pro Mitglied
portal-svc-limit = Die Anzahl pro Seite muss zwischen 1 und 500 liegen.
portal-svc-version-conflict = Jemand anderes hat das inzwischen geändert. Laden Sie die Seite neu und versuchen Sie es noch einmal.
portal-svc-domain-taken = Eine andere Organisation hat diese Domain bereits bestätigt.
portal-svc-already-invited = Diese Person hat bereits eine offene Einladung in diese Organisation; senden Sie diese stattdessen erneut.
portal-svc-already-linked = Die Organisation ist bereits mit dieser App verknüpft.
portal-svc-user-exists = Es gibt bereits einen Benutzer mit dieser E-Mail-Adresse.
portal-svc-already-member = Die Person ist bereits Mitglied dieser Organisation.
portal-svc-client-id-exists = Es gibt bereits eine App mit dieser client_id.
portal-svc-app-id-exists = Es gibt bereits eine App mit dieser ID.
portal-svc-connection-exists = Es gibt bereits eine Verbindung mit dieser ID.
portal-svc-child-linked = Die untergeordnete Organisation { $child } ist noch mit dieser App verknüpft; heben Sie diese Verknüpfung zuerst auf.
portal-svc-connection-in-use = Die Anmelderichtlinie der Verknüpfung mit der App { $app } verwendet diese Verbindung noch; ändern Sie sie zuerst.
portal-svc-only-org-admin = Nur ein org_admin darf org_admin vergeben oder die Mitgliedschaft eines Org-Administrators ändern.
portal-svc-only-operator-field = Nur der Betreiber darf „{ $field }“ einer Organisation ändern.
portal-svc-only-operator = Nur der Betreiber darf das (App-Verknüpfungen, erlaubte Rollengruppen, Hinzufügen bestehender Benutzer; Org-Administratoren laden Personen ein).
portal-svc-kind-change = die Art einer Verbindung lässt sich nicht ändern; legen Sie eine neue Verbindung an

## portal: domains
portal-domains-title = Domains
portal-domains-lead = Personen melden sich über diese Organisation an, wenn ihre E-Mail-Adresse zu einer ihrer bestätigten Domains gehört. Um nachzuweisen, dass die Organisation eine Domain besitzt, veröffentlichen Sie einen DNS-TXT-Eintrag und bestätigen die Domain dann hier.
portal-domains-yours = Ihre Domains
portal-domains-none = Noch keine Domains.
portal-domains-verified = Bestätigt
portal-domains-verified-on = Bestätigt am { $date }
portal-domains-not-verified = Noch nicht bestätigt
portal-domains-publish-verify = Veröffentlichen Sie diesen TXT-Eintrag bei Ihrem DNS-Anbieter und wählen Sie dann „Bestätigen“:
portal-domains-publish = Veröffentlichen Sie diesen TXT-Eintrag bei Ihrem DNS-Anbieter:
portal-domains-proved = Der TXT-Eintrag, der die Domain bestätigt hat (Sie können ihn jetzt aus dem DNS entfernen):
portal-domains-record-name = Name des Eintrags
portal-domains-record-value = Wert des Eintrags
portal-domains-record-type = Typ:
portal-domains-copy-name = (Name des Eintrags)
portal-domains-copy-value = (Wert des Eintrags)
portal-domains-check-again = Erneut prüfen
portal-domains-verify = { $domain } bestätigen
portal-domains-remove = { $domain } entfernen
portal-domains-add = Domain hinzufügen
portal-domains-domain = Domain
portal-domains-domain-hint = Der Teil nach dem @ in den E-Mail-Adressen Ihrer Leute, zum Beispiel example.com.
portal-domains-add-button = Domain hinzufügen
portal-domains-added = Domain hinzugefügt. Veröffentlichen Sie den TXT-Eintrag unten und wählen Sie dann „Bestätigen“.
portal-domains-removed = Domain entfernt.
portal-domains-duplicate = Diese Organisation hat diese Domain bereits.
portal-domains-not-found-yet = Der TXT-Eintrag wurde noch nicht gefunden. Veröffentlichen Sie ihn genau wie unten gezeigt bei Ihrem DNS-Anbieter, warten Sie einige Minuten (DNS-Änderungen können bis zu einer Stunde brauchen) und wählen Sie dann erneut „Bestätigen“.
portal-domains-wrong-value = Unter diesem Namen gibt es einen TXT-Eintrag, aber er enthält nicht den unten gezeigten Wert. Ändern Sie seinen Wert entsprechend, warten Sie einige Minuten und wählen Sie dann erneut „Bestätigen“.
portal-domains-taken = Eine andere Organisation hat diese Domain bereits bestätigt, daher kann sie hier nicht bestätigt werden. Wenn Ihre Organisation die Domain besitzt, wenden Sie sich an den Support Ihres Anbieters.
portal-domains-dns-down = Lobby konnte das DNS gerade nicht erreichen; es wurde nichts geprüft und nichts geändert. Versuchen Sie es in einigen Minuten noch einmal.
portal-domains-still-there = Erneut geprüft: Der TXT-Eintrag ist weiterhin veröffentlicht. Die Domain bleibt bestätigt.
portal-domains-gone-but-kept = Erneut geprüft: Der TXT-Eintrag ist nicht mehr veröffentlicht. Die Domain bleibt bestätigt (der Besitz wird einmal nachgewiesen; den Eintrag danach zu entfernen ist normal).
portal-domains-verified-flash = { $domain } ist bestätigt. Personen mit einer E-Mail-Adresse unter { $domain } melden sich jetzt über diese Organisation an.
portal-domains-remove-stops = Lobby leitet Personen mit einer E-Mail-Adresse unter { $domain } nicht mehr zur Anmeldung dieser Organisation.
portal-domains-remove-again = Um { $domain } später wieder hinzuzufügen, veröffentlichen Sie einen neuen TXT-Eintrag und bestätigen die Domain erneut.
portal-domains-remove-members-stay = Bestehende Mitglieder behalten ihre Mitgliedschaft.
portal-domains-remove-title = { $domain } entfernen?
portal-domains-remove-question = Die Domain { $domain } entfernen?
portal-domains-remove-confirm = Domain entfernen

## portal: branding
portal-branding-title = Erscheinungsbild
portal-branding-lead = So sehen die Anmeldeseiten für die Personen von { $org } aus: der angezeigte Name, ein Logo und die Farbe von Schaltflächen und Links.
portal-branding-display-name = Anzeigename
portal-branding-display-name-hint = Wird oben auf den Anmeldeseiten angezeigt. Lassen Sie das Feld leer, um den Namen der Organisation ({ $org }) zu verwenden.
portal-branding-logo-url = Logo-URL
portal-branding-logo-url-hint = Eine https-Adresse eines Bildes, angezeigt mit 40 Pixeln Höhe. Lassen Sie das Feld leer, wenn kein Logo erscheinen soll.
portal-branding-primary-colour = Primärfarbe
portal-branding-primary-colour-hint = Sechs Hexadezimalziffern wie #1a7f5a. Lassen Sie das Feld leer für das Blau von Lobby. Wählen Sie eine dunkle Farbe: Schaltflächen zeigen darauf weißen Text.
portal-branding-preview = Vorschau
portal-branding-save = Erscheinungsbild speichern
portal-branding-display-name-unset = Nicht festgelegt (der Name der Organisation wird angezeigt)
portal-branding-no-logo = Kein Logo
portal-branding-default-colour = Das Blau von Lobby
portal-branding-preview-heading = Vorschau der Anmeldeseite
portal-branding-logo-alt = Logo von { $name }
portal-branding-your-app = Ihre App
portal-branding-saved = Erscheinungsbild gespeichert. Die Anmeldeseiten zeigen es ab sofort.
portal-branding-changed-meanwhile = Jemand anderes hat diese Organisation geändert, seit Sie diese Seite geöffnet haben. Das Formular zeigt Ihre Werte, die Vorschau unten ebenfalls. Speichern Sie erneut, um das aktuelle Erscheinungsbild zu ersetzen.
portal-branding-preview-only = Dies ist eine Vorschau: Es wird nichts gespeichert, bis Sie „Erscheinungsbild speichern“ wählen.

## portal: audit log
portal-audit-title = Audit-Protokoll
portal-audit-lead = Jede Änderung in dieser Organisation und jede Anmeldung, die neuesten zuerst. Zeiten in UTC.
portal-audit-filter-label = Audit-Protokoll filtern
portal-audit-action = Aktion
portal-audit-actor = Akteur
portal-audit-actor-hint = Zum Beispiel user:usr_… oder operator.
portal-audit-from = Von
portal-audit-to = Bis
portal-audit-limit = Ereignisse pro Seite
portal-audit-filter = Filtern
portal-audit-none = Keine passenden Ereignisse.
portal-audit-caption = Audit-Ereignisse, die neuesten zuerst
portal-audit-time = Zeit
portal-audit-target = Ziel
portal-audit-outcome = Ergebnis
portal-audit-details = Einzelheiten
portal-audit-details-of = zu { $action } um { $time }
portal-audit-newest = Neueste Ereignisse
portal-audit-older = Ältere Ereignisse
portal-audit-outcome-success = erfolgreich
portal-audit-outcome-failure = fehlgeschlagen
portal-audit-outcome-denied = abgelehnt
portal-audit-bad-date = Geben Sie ein Datum wie 2026-01-31 ein.
portal-audit-to-before-from = Das Enddatum darf nicht vor dem Startdatum liegen.
portal-audit-bad-limit = Wählen Sie zwischen 1 und 500 Ereignissen pro Seite.

## portal: child organizations
portal-children-title = Untergeordnete Organisationen
portal-children-lead = Organisationen, die von { $org } verwaltet werden. Als Administrator von { $org } verwalten Sie diese ebenfalls.
portal-children-no-more = Keine weiteren untergeordneten Organisationen.
portal-children-none = { $org } hat noch keine untergeordneten Organisationen.
portal-col-short-name = Kurzname
portal-col-actions = Aktionen
portal-children-create = Untergeordnete Organisation anlegen
portal-children-slug-hint = Kleinbuchstaben, Ziffern und Bindestriche, zum Beispiel acme-europe. Er kennzeichnet die Organisation und kann hier später nicht mehr geändert werden.
portal-create-org = Organisation anlegen
portal-children-created = { $name } wurde angelegt.
portal-children-bad-limit = Wählen Sie zwischen 1 und 500 Organisationen pro Seite.
portal-slug-taken = Eine andere Organisation verwendet diesen Kurznamen bereits; wählen Sie einen anderen.

## portal: invitations
portal-invitations-title = Einladungen
portal-invitations-states = Status der Einladungen
portal-invitations-state-pending = Offen
portal-invitations-state-accepted = Angenommen
portal-invitations-state-expired = Abgelaufen
portal-invitations-state-revoked = Widerrufen
portal-invitations-state-all = Alle
portal-invitation-pending = offen
portal-invitation-accepted = angenommen
portal-invitation-expired = abgelaufen
portal-invitation-revoked = widerrufen
portal-invitations-none = Hier gibt es keine Einladungen.
portal-invitations-col-state = Status
portal-invitations-col-expires = Läuft ab (UTC)
portal-invitations-col-roles = Rollen
portal-invitations-resend = Erneut senden
portal-invitations-resend-label = Einladung an { $email } erneut senden
portal-invitations-revoke = Widerrufen
portal-invitations-revoke-label = Einladung an { $email } widerrufen
portal-invitations-app = App, zu der eingeladen wird
portal-invitations-app-hint = Wird in der E-Mail genannt; zum Annehmen meldet sich die Person dort an.
portal-invitations-app-auto = Automatisch wählen
portal-invitations-roles-in = Rollen in { $app }
portal-invitations-org-roles = Org-Rollen (optional)
portal-invitations-send = Einladung senden
portal-invitations-email-invalid = Geben Sie eine E-Mail-Adresse wie name@example.com ein.
portal-invitations-app-invalid = Wählen Sie eine App aus der Liste.
portal-invitations-sent = Die Einladung wurde an { $email } gesendet.
portal-invitations-not-sent = Die Einladung wurde angelegt, aber die E-Mail konnte nicht gesendet werden. Versuchen Sie es mit „Erneut senden“ noch einmal.
portal-invitations-resent = Die Einladung wurde mit einem neuen Link erneut gesendet; der alte Link funktioniert nicht mehr.
portal-invitations-revoked = Die Einladung wurde widerrufen; ihr Link funktioniert nicht mehr.

## Portal: ein Mitglied sperren oder entfernen
portal-suspend-title = Mitglied sperren
portal-remove-title = Mitglied entfernen
portal-confirm-remove-html = <strong>{ $email }</strong> aus dieser Organisation entfernen?
portal-confirm-suspend-html = <strong>{ $email }</strong> sperren?
portal-confirm-is-self = Das sind Sie: Sie verlieren den Zugang zum Portal.
portal-confirm-what = Was passiert
portal-confirm-remove-effect = Die Mitgliedschaft in dieser Organisation und alle Rollen darin werden gelöscht. Das Konto bleibt bestehen (es kann zu anderen Organisationen gehören). Um wieder Zugang zu geben, laden Sie die Person erneut ein.
portal-confirm-suspend-effect = Die Person kann sich bei den Apps dieser Organisation nicht mehr anmelden, bis Sie sie wieder aktivieren. Ihre Rollen bleiben erhalten.
portal-confirm-revoked = Die Refresh-Tokens werden jetzt widerrufen; die App meldet die Person ab, sobald ihr aktuelles Access-Token abläuft (spätestens nach { $minutes } Min.).
portal-confirm-not-revoked = Die App widerruft bei diesem Ereignis keine Tokens: Die nächste Token-Erneuerung wird abgelehnt, das aktuelle Access-Token bleibt bis zu seinem Ablauf gültig (spätestens nach { $minutes } Min.).
portal-cancel = Abbrechen
