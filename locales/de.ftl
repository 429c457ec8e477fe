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

## portal-fix
portal-signed-out-sso = Sie sind in diesem Browser auch von Lobby abgemeldet: Die nächste Anmeldung, im Portal oder bei einer App, fragt wieder, wer Sie sind.
portal-domain-take-over-link = Als Betreiber können Sie diese Domain übernehmen.
portal-domain-take-over-title = { $domain } übernehmen?
portal-domain-take-over-question = { $org } hat { $domain } verifiziert. Soll die Domain zu { $this } wechseln?
portal-domain-take-over-effect-owner = { $org } verliert { $domain }: Die Verifizierung dort wird entfernt, und der Wechsel wird in den Audit-Logs beider Organisationen festgehalten.
portal-domain-take-over-effect-dns = Der für { $this } angezeigte TXT-Eintrag muss veröffentlicht sein: Lobby prüft ihn jetzt, und ohne ihn wechselt nichts.
portal-domain-take-over-effect-sign-in = Personen mit einer E-Mail-Adresse unter { $domain } melden sich danach über { $this } an.
portal-domain-take-over-button = Domain übernehmen
portal-domain-taken-over = { $domain } ist jetzt für diese Organisation verifiziert; { $org } hat die Domain nicht mehr.
portal-link-jit-legend = Anmeldeeinstellungen
portal-link-jit = Personen bei ihrer ersten Anmeldung als Mitglieder aufnehmen (Just-in-Time)
portal-link-jit-hint = Meldet sich jemand über den Identitätsanbieter dieser Organisation an, der noch kein Mitglied ist, nimmt Lobby die Person mit den unten gewählten Standardrollen auf, statt sie abzuweisen.
portal-link-default-roles = Rollen der Mitglieder, die bei ihrer ersten Anmeldung aufgenommen werden
portal-link-default-roles-none = Keine Rollen zur Auswahl: Erlauben Sie zuerst oben eine Rollengruppe.
portal-link-policy = Anmeldeverbindungen für diese App
portal-link-policy-inherit = Die Voreinstellung der App, über alle aktiven Verbindungen der Organisation
portal-link-policy-connections = Nur die unten markierten Verbindungen
portal-link-settings-save = Anmeldeeinstellungen speichern
portal-link-settings-saved = Anmeldeeinstellungen gespeichert.
portal-link-changed-meanwhile = Jemand anderes hat diese Verknüpfung geändert, seit Sie die Seite geöffnet haben; das Formular zeigt die aktuellen Einstellungen. Nehmen Sie Ihre Änderung erneut vor.
portal-app-delete-heading = Diese App löschen
portal-app-delete-link = { $app } löschen …
portal-app-delete-title = { $app } löschen?
portal-app-delete-question = Die App { $app } löschen?
portal-app-delete-no-orgs = Keine Organisation ist mit { $app } verknüpft.
portal-app-delete-orgs = { $count } Organisation(en) sind mit { $app } verknüpft ({ $orgs }): Die Verknüpfungen werden entfernt, und ihre Mitglieder können sich nicht mehr bei der App anmelden.
portal-app-delete-roles = Ihre { $roles } Rolle(n) und { $groups } Rollengruppe(n) werden gelöscht.
portal-app-delete-tokens = Jedes für { $app } ausgestellte Refresh-Token wird widerrufen, und die Client-ID { $client } funktioniert sofort nicht mehr.
portal-app-delete-final = Das kann nicht rückgängig gemacht werden: Um die App wieder zu nutzen, legen Sie sie neu an und hinterlegen die neue Client-ID und das neue Secret.
portal-app-delete-button = App löschen
portal-app-deleted = { $app } wurde gelöscht.
portal-app-revoke-legend = Personen sofort von dieser App abmelden, wenn …
portal-app-revoke-hint = Markierte Ereignisse widerrufen die Refresh-Tokens des Mitglieds für diese App sofort; nicht markierte wirken bei der nächsten Token-Erneuerung.
portal-app-revoke-member-removed = ein Mitglied aus seiner Organisation entfernt wird
portal-app-revoke-member-suspended = ein Mitglied gesperrt wird
portal-app-revoke-roles-changed = sich die Rollen eines Mitglieds ändern
portal-app-revoke-org-suspended = seine Organisation gesperrt wird
portal-app-revoke-org-unlinked = die Verknüpfung seiner Organisation mit dieser App aufgehoben wird
portal-test-failed-unreachable = Lobby konnte Ihren Identitätsanbieter nicht erreichen: Sein Discovery-Dokument (/.well-known/openid-configuration unter dem eingegebenen Issuer) hat nicht oder mit einem Fehler geantwortet. Prüfen Sie den Issuer im Schritt Identitätsanbieter und ob Ihr Identitätsanbieter vom Server von Lobby aus erreichbar ist.
portal-test-failed-blocked = Lobby ruft nichts vom eingegebenen Issuer ab (er muss eine https-Adresse im Internet sein). Prüfen Sie den Issuer im Schritt Identitätsanbieter.
portal-test-failed-issuer = Der Issuer im Discovery-Dokument Ihres Identitätsanbieters ist nicht der im Schritt Identitätsanbieter eingegebene. Beide müssen identisch sein: Kopieren Sie den Issuer aus dem Dokument (achten Sie auf den abschließenden Schrägstrich und auf http/https).
portal-test-failed-discovery-invalid = Das Discovery-Dokument Ihres Identitätsanbieters ist kein gültiges OpenID-Connect-Discovery-Dokument. Prüfen Sie den Issuer im Schritt Identitätsanbieter: Er muss die Adresse sein, unter der das Dokument liegt.
portal-test-failed-fix = Angaben zum Identitätsanbieter korrigieren
portal-signed-out-sso-other = In diesem Browser ist jetzt jemand anderes bei Lobby angemeldet; diese Anmeldung bleibt bestehen.
