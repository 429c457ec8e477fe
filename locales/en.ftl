# Lobby's sentences in English: the reference catalog and the fallback of every other one.
# One message per line. Keys ending in -html may hold <strong>/<q> markup; their arguments are
# escaped by the code (i18n::Tr::html). Keep markup identical in every language (a test checks).

## Every hosted page
skip-to-content = Skip to content
logo-alt = { $name } logo
secured-by = Secured by Lobby
request-id-lead = If you contact support, give them this request ID:

## Page titles
title-sign-in = Sign in
title-password = Enter your password
title-choose-org = Choose an organization
title-access-denied = Access denied
title-sign-out-failed = Sign-out failed
title-unavailable = Sign-in unavailable
title-problem = Sign-in problem
title-sign-out = Sign out
title-signed-out = Signed out
title-invited = You're invited
title-invite-done = You're in
title-reset = Reset your password
title-password-changed = Password changed
title-new-password = Choose a new password
title-signing-in = Signing in
title-demo = Lobby demo app

## Buttons, labels, links
button-continue = Continue
button-sign-in = Sign in
button-sign-out = Sign out
button-send-link = Send the link
button-change-password = Change password
label-email = Email address
label-password = Password
label-new-password = New password
label-new-password-again = New password again
label-choose-password = Choose a password
label-password-again = Type it again
link-change-email = Use a different email
link-forgot-password = Forgot your password?
link-back-to-sign-in = Back to sign in
link-new-link = Ask for a new link
link-back-to-app = Return to the application

## The identifier, password and chooser pages
login-lead-html = Continue to <strong>{ $app }</strong> with your work email.
password-lead-html = Signing in to <strong>{ $app }</strong> as <strong id="signed-in-as">{ $email }</strong>.
chooser-lead-html = Your account belongs to several organizations. Choose the one you are signing in to <strong>{ $app }</strong> for.
chooser-list-label = Organizations
chooser-last-used = (last used)
email-invalid = Enter an email address like name@example.com.
wrong-password = The email or password is incorrect.
locked-out = Too many failed sign-in attempts. Wait 15 minutes and try again.

## Sign-out
logout-confirm = Do you want to sign out of all applications that use this sign-in?
logged-out = You have been signed out. You can close this window.

## SAML auto-POST page
saml-post-lead = Taking you to your organization's sign-in page…
saml-post-noscript = JavaScript is off: press the button to continue.

## The error page (PageError)
error-unknown-client = This sign-in link is not valid: the application is not registered. Go back to the application and try again, or contact its support.
error-bad-redirect-uri = This sign-in link is not valid: its return address does not match the application's registration. Contact the application's support.
error-bad-request = This sign-in request is not valid. Go back to the application and start signing in again.
error-too-large = This sign-in request is too large. Go back to the application and start signing in again.
error-flow-expired = This sign-in attempt has expired or was already completed. Go back to the application and sign in again.
error-wrong-browser = This sign-in attempt was started in another browser or window. Go back to the application and sign in again from this browser.
error-csrf = This form has expired or was not sent from this page. Go back, reload the page and try again.
error-no-access = You don't have access to this application. Ask your organization's administrator to give you access.
error-org-not-allowed = You can't sign in to this organization with this account. Go back and choose one of the organizations listed.
error-sso-not-available = This organization's sign-in is not available yet. Contact your IT administrator.
error-logout-invalid = This sign-out request is not valid, so you have not been signed out. Go back to the application and try again.
error-unavailable = Sign-in is temporarily unavailable. Try again in a few minutes.
error-busy = Many people are signing in right now. Wait a moment and try again.
error-too-many-requests = Too many sign-in requests came from your network. Wait a minute and try again.
error-server = Something went wrong on our side. Try again in a few minutes.
error-unknown = Something went wrong while signing in. Go back to the application and try again.

## Federated sign-in (pages::sso)
sso-idp-said-html = Your organization's sign-in said: <q id="idp-detail">{ $detail }</q>
sso-unreachable = Your organization's sign-in service could not be reached or did not answer in time. Try again in a few minutes; if this keeps happening, contact your IT administrator.
sso-misconfigured = Your organization's sign-in is not set up correctly, so you cannot be signed in. Contact your IT administrator.
sso-rejected = Your organization's sign-in sent a response that failed our security checks, so you have not been signed in. Go back to the application and try again; if this keeps happening, contact your IT administrator.
sso-mismatch = This sign-in response does not belong to the sign-in started in this browser, so you have not been signed in. Go back to the application and sign in again.
sso-idp-error = Your organization's sign-in did not sign you in.
sso-idp-denied = Sign-in was cancelled or refused at your organization's sign-in page.
sso-not-recent = This application needs you to have signed in again just now, and your organization's sign-in did not do so. Go back to the application and sign in again.
sso-connection-unavailable = This organization's sign-in is not available for this application. Contact your IT administrator.
sso-org-no-access = Your organization does not have access to this application. Contact your IT administrator.
sso-portal-not-admin = You are not an administrator of this organization, so you cannot sign into its admin portal.
sso-email-missing = Your organization's sign-in did not tell us your email address, so you cannot be signed in. Contact your IT administrator.
sso-email-not-verified = Your organization's sign-in did not confirm your email address, so you cannot be signed in. Contact your IT administrator.
sso-invitation-invalid = This invitation has already been used, was withdrawn or has expired. Ask your organization's administrator for a new invitation.
sso-invitation-wrong-org = This invitation is for another organization. Sign in with that organization's account, or ask for a new invitation.
sso-invitation-email-mismatch = This invitation was sent to a different email address than the account you signed in with. Sign in with the invited account, or ask for a new invitation.
sso-not-provisioned = You don't have access to this application yet. Ask your organization's administrator to invite you.
sso-membership-suspended = Your access to this organization is suspended. Contact your organization's administrator.

## Password reset pages
forgot-lead = Enter the email address you sign in with. We will send you a link to choose a new password.
reset-lead-html = Choose a new password for <strong id="reset-email">{ $email }</strong>. Use at least 8 characters; a long phrase that only you would think of is best.
reset-sent = If this email belongs to an account that signs in with a password, we have sent it a link to choose a new password. The link works once, for 30 minutes. Check your inbox and spam folder.
reset-unknown = This password reset link is not valid. Check that you copied the whole link, or ask for a new one.
reset-used = This password reset link was already used. If you did not change your password, ask for a new link.
reset-expired = This password reset link has expired: links work for 30 minutes. Ask for a new one.
passwords-differ = The two passwords are not the same. Type them again.
reset-limited = Too many password reset requests from your network. Wait an hour and try again.
password-too-short = Choose a password of at least 8 characters.
password-too-long = Choose a password of at most 256 characters.
password-common = This password is too common and easy to guess. Choose a different one.
password-is-email = Don't use your email address as your password.
password-changed = Your password has been changed and you have been signed out everywhere. Go back to the application and sign in with your new password.

## Invitation pages
invite-summary-html = <strong id="inviter">{ $inviter }</strong> invited you to join <strong id="org-name">{ $org }</strong> on <strong id="app-name">{ $app }</strong>.
invite-for-html = Invitation for <strong id="invited-email">{ $email }</strong>.
invite-sso = You will sign in with your { $org } account as { $email }.
invite-sso-button = Continue to { $org } sign-in
invite-existing = You already have a password for { $email }. Accept the invitation, then sign in with it.
invite-accept-button = Accept the invitation
invite-password-hint = At least 8 characters. A long phrase is easy to remember and hard to guess.
invite-set-password-button = Accept and set password
invite-done-html = You're in: you are now a member of <strong>{ $org }</strong>.
invite-next-signed-in = Open { $app } and sign in: you are already signed in here, so it will take you straight in.
invite-next-password = Open { $app } and sign in with your email and password.
inviter-admin-of = An administrator of { $org }
invite-unknown = This invitation link is not valid. Open the link from the invitation email again, and check that it was not cut short.
invite-accepted = This invitation was already accepted. Sign in to the application to continue.
invite-expired = This invitation has expired. Ask the person who invited you to send a new one.
invite-revoked = This invitation was withdrawn by the organization. Ask its administrator if you still need access.
invite-unavailable = This invitation can't be used: the organization or the application is no longer available.

## The invitation email
mail-invite-subject = { $inviter } invited you to { $org } on { $app }
mail-invite-heading = You're invited to { $app }
mail-invite-lead = { $inviter } invited you to join { $org } on { $app }.
mail-invite-lead-html = { $inviter } invited you to join <strong>{ $org }</strong> on <strong>{ $app }</strong>.
mail-invite-accept = Accept the invitation
mail-invite-accept-text = Accept the invitation:
mail-invite-next-sso = You will sign in with your { $org } account.
mail-invite-next-password = You will choose a password for your account.
mail-invite-expires = The link works once and expires { $expires }.
mail-invite-paste = If the button does not work, paste this address into your browser:
mail-invite-ignore = If you did not expect this invitation, ignore this email: nothing happens unless you open the link.
mail-invite-footer = sign-in secured by Lobby
mail-invite-no-app = your account
mail-expiry = on { $day } { $month } { $year } at { $time } UTC
month-1 = January
month-2 = February
month-3 = March
month-4 = April
month-5 = May
month-6 = June
month-7 = July
month-8 = August
month-9 = September
month-10 = October
month-11 = November
month-12 = December

## The password reset email
mail-reset-subject = Reset your { $brand } password
mail-reset-intro = Someone asked to reset the password of the { $brand } account { $email }.
mail-reset-intro-html = Someone asked to reset the password of the <strong>{ $brand }</strong> account <strong>{ $email }</strong>.
mail-reset-open = To choose a new password, open this link within 30 minutes (it works once):
mail-reset-button = Choose a new password
mail-reset-copy = Or copy this address into your browser:
mail-reset-ignore = If you did not ask for this, ignore this message: your password stays as it is.
mail-reset-footer = { $brand }, secured by Lobby

## Portal: every page
portal-name = Lobby portal
portal-skip = Skip to content
portal-nav-label = Portal
portal-operator-badge = operator
portal-sign-out = Sign out
portal-footer-request = request
portal-language = Language
portal-language-apply = Change language
portal-language-invalid = Choose a language from the list.
portal-nav-home = Organizations
portal-nav-overview = Overview
portal-nav-members = Members
portal-nav-invitations = Invitations
portal-nav-connections = Sign-in connections
portal-nav-domains = Domains
portal-nav-branding = Branding
portal-nav-audit = Audit log
portal-nav-children = Child organizations
portal-nav-operator = All organizations

## Portal: error pages
portal-error-signed-out-title = Signed out
portal-error-signed-out = Your portal session has ended. Sign in again, then repeat what you were doing.
portal-error-csrf-title = Form expired
portal-error-csrf = This form expired. Go back, reload the page and try again.
portal-error-not-found-title = Page not found
portal-error-not-found = There is no such page, or you do not have access to it. Check the address or go back to the portal's start page.
portal-error-invalid-title = Check your input
portal-error-internal-title = Something went wrong
portal-error-internal = Something went wrong on our side. Try again in a few minutes.
portal-error-field = Field:
portal-error-sign-in-again = Sign in again
portal-error-home = Go to the portal's start page
portal-error-request-id = If you contact support, give them this request ID:

## Portal: an org's overview
portal-overview-title = Overview
portal-fact-name = Name
portal-fact-slug = Slug
portal-fact-status = Status
portal-fact-parent = Parent
portal-fact-your-roles = Your roles
portal-org-active = Active
portal-org-suspended = Suspended
portal-overview-inherited = (from a parent organization)
portal-overview-what = What you can do here
portal-about-members = Who belongs to this organization, their roles, suspension and removal.
portal-about-invitations = Invite people by email; resend or revoke pending invitations.
portal-about-connections = Connect your identity provider (SAML or OIDC) so your people sign in with it.
portal-about-domains = Verify the email domains your organization owns.
portal-about-branding = Your name, logo and colour on the sign-in page.
portal-about-audit = Every change made in this organization, and sign-ins.
portal-about-children = Organizations below this one.

## Portal: members
portal-members-title = Members
portal-members-invite = Invite someone
portal-members-filter-label = Filter members
portal-members-search = Search
portal-members-search-placeholder = Email or name
portal-members-status = Status
portal-members-role = Role
portal-members-app = App
portal-members-apply = Apply
portal-members-any-status = Any status
portal-members-filter-active = Active
portal-members-filter-suspended = Suspended
portal-members-filter-invited = Invited
portal-members-any-role = Any role
portal-members-org-role-option = Org role: { $role }
portal-members-any-app = Any app
portal-members-count-one = { $count } member match.
portal-members-count = { $count } members match.
portal-members-none = No members match.
portal-members-limit-invalid = limit must be between 1 and 500.
portal-col-email = Email
portal-col-name = Name
portal-col-status = Status
portal-col-org-roles = Org roles
portal-col-app-roles = App roles
portal-pages-label = Pages
portal-first-page = First page
portal-next-page = Next page
portal-member-status-active = active
portal-member-status-suspended = suspended
portal-member-status-invited = invited
portal-member-unknown = (unknown)
portal-bad-role = Choose roles from the list.

## Portal: one member
portal-member-title = Member
portal-member-back = ← All members
portal-member-no-apps = This organization has no app with roles it may hand out.
portal-member-outside = (no longer allowed for this organization: uncheck to remove)
portal-member-save-roles = Save app roles
portal-member-org-roles-hint = Org roles let a member run this organization in the portal.
portal-member-choose-org-roles = Choose org roles
portal-member-save-org-roles = Save org roles
portal-member-access = Access
portal-member-is-self = This is you. Suspending or removing yourself ends your own access to the portal.
portal-member-reactivate = Reactivate
portal-member-suspend = Suspend…
portal-member-remove = Remove from organization…
portal-org-role-org-admin = Everything in this organization: sign-in connections, domains, branding, members, child organizations.
portal-org-role-member-admin = Members and invitations only.
portal-org-role-viewer = Reads everything; changes nothing.
portal-member-roles-saved = The app roles were saved.
portal-member-org-roles-saved = The org roles were saved.
portal-member-suspended = The member is suspended.
portal-member-reactivated = The member is active again.
portal-member-removed = The member was removed from this organization.

## Portal: suspend or remove a member
portal-suspend-title = Suspend member
portal-remove-title = Remove member
portal-confirm-remove-html = Remove <strong>{ $email }</strong> from this organization?
portal-confirm-suspend-html = Suspend <strong>{ $email }</strong>?
portal-confirm-is-self = This is you: you will lose access to the portal.
portal-confirm-what = What happens
portal-confirm-remove-effect = Their membership of this organization and all their roles in it are deleted. Their account stays (they may belong to other organizations). To give them access again, invite them.
portal-confirm-suspend-effect = They can no longer sign in to this organization's apps until you reactivate them. Their roles are kept.
portal-confirm-revoked = their refresh tokens are revoked now, so the app signs them out when its current access token expires (at most { $minutes } min).
portal-confirm-not-revoked = the app is not set to revoke tokens on this event: its next token refresh is refused, and the current access token stays valid until it expires (at most { $minutes } min).
portal-cancel = Cancel

## portal-fix
portal-signed-out-sso = You are also signed out of Lobby in this browser: the next sign-in, to the portal or to any app, asks who you are again.
portal-domain-take-over-link = As the operator, you may take this domain over.
portal-domain-take-over-title = Take over { $domain }?
portal-domain-take-over-question = { $org } has verified { $domain }. Move it to { $this }?
portal-domain-take-over-effect-owner = { $org } loses { $domain }: its verification there is removed, and the move is recorded in the audit logs of both organizations.
portal-domain-take-over-effect-dns = The TXT record shown for { $this } must be published: Lobby checks it now, and nothing moves if it is missing.
portal-domain-take-over-effect-sign-in = People with an email address at { $domain } then sign in through { $this }.
portal-domain-take-over-button = Take over domain
portal-domain-taken-over = { $domain } is verified for this organization now; { $org } no longer has it.
portal-link-jit-legend = Sign-in settings
portal-link-jit = Add people as members at their first sign-in (just-in-time)
portal-link-jit-hint = When someone signs in through this organization's identity provider and is not a member yet, Lobby makes them a member with the default roles below instead of refusing them.
portal-link-default-roles = Roles of members added at their first sign-in
portal-link-default-roles-none = No roles to choose: allow a role group above first.
portal-link-policy = Sign-in connections for this app
portal-link-policy-inherit = The app's default, over every active connection of the organization
portal-link-policy-connections = Only the connections checked below
portal-link-settings-save = Save sign-in settings
portal-link-settings-saved = Sign-in settings saved.
portal-link-changed-meanwhile = Someone else changed this link since you opened the page; the form shows the current settings. Make your change again.
portal-app-delete-heading = Delete this app
portal-app-delete-link = Delete { $app }…
portal-app-delete-title = Delete { $app }?
portal-app-delete-question = Delete the app { $app }?
portal-app-delete-no-orgs = No organization is linked to { $app }.
portal-app-delete-orgs = { $count } organization(s) are linked to { $app } ({ $orgs }): the links go, and their members can no longer sign in to it.
portal-app-delete-roles = Its { $roles } role(s) and { $groups } role group(s) are deleted.
portal-app-delete-tokens = Every refresh token issued to { $app } is revoked, and its client id { $client } stops working at once.
portal-app-delete-final = This cannot be undone: to use the app again, create it anew and give it its new client id and secret.
portal-app-delete-button = Delete app
portal-app-deleted = { $app } was deleted.
portal-app-revoke-legend = Sign people out of this app at once when…
portal-app-revoke-hint = Checked events revoke the member's refresh tokens for this app immediately; unchecked ones take effect at the next token refresh.
portal-app-revoke-member-removed = a member is removed from their organization
portal-app-revoke-member-suspended = a member is suspended
portal-app-revoke-roles-changed = a member's roles change
portal-app-revoke-org-suspended = their organization is suspended
portal-app-revoke-org-unlinked = their organization is unlinked from this app
portal-test-failed-unreachable = Lobby could not reach your identity provider: its discovery document (/.well-known/openid-configuration under the issuer you entered) did not answer, or answered with an error. Check the issuer on the identity provider step, and that your identity provider is reachable from Lobby's server.
portal-test-failed-blocked = Lobby does not fetch from the issuer you entered (it must be an https address on the internet). Check the issuer on the identity provider step.
portal-test-failed-issuer = The issuer in your identity provider's discovery document is not the one entered on the identity provider step. They must be identical: copy the issuer from the document (mind the trailing slash and http/https).
portal-test-failed-discovery-invalid = Your identity provider's discovery document is not a valid OpenID Connect discovery document. Check the issuer on the identity provider step: it must be the address the document lives under.
portal-test-failed-fix = Fix the identity provider details
portal-signed-out-sso-other = Someone else is signed in to Lobby in this browser now; that sign-in was left as it is.
