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

## portal: home, sign-in and sign-out, forms, confirmations
portal-home-title = Your organizations
portal-home-operator = All organizations (operator)
portal-home-none = You administer no organization.
portal-home-under = under { $parent }
portal-signed-out-title = Signed out
portal-signed-out = You have signed out of the portal.
portal-signed-out-lobby = You are still signed in to Lobby in this browser, so signing in again needs no password. To end that too,
portal-signed-out-lobby-link = sign out of Lobby
portal-signin-problem-title = Sign-in problem
portal-signin-button = Sign in
portal-signin-start-again = This sign-in could not be completed (it expired, or was started in another window). Sign in again.
portal-signin-refused = Sign-in was cancelled or refused.
portal-form-unreadable = The form could not be read.
portal-form-malformed = The form was incomplete or malformed. Go back, reload the page and try again.
portal-copy = Copy
portal-save = Save
portal-delete = Delete
portal-clear = Clear
portal-open = Open
portal-none = (none)
portal-field-rule = The { $label } { $rule }.
portal-label-slug = slug
portal-label-short-name = short name
portal-label-name = name
portal-label-domain = domain
portal-label-display-name = display name
portal-label-logo-url = logo URL
portal-label-primary-colour = primary colour
portal-label-value = value
portal-label-description = description
portal-label-roles = roles
portal-label-allowed-role-groups = allowed role groups
portal-label-redirect-uris = redirect URIs
portal-label-sign-out-redirect-uris = sign-out redirect URIs
portal-label-invitation-validity = invitation validity
portal-label-client-type = client type

## portal: sentences of the admin service shown on portal pages
portal-svc-slug = must be 2-63 lowercase letters, digits or single hyphens, not starting or ending with a hyphen
portal-svc-name = must be 1-200 characters without control characters
portal-svc-domain = must be a DNS domain name with at least two labels, like example.com
portal-svc-color = must be a color like #1a2b3c
portal-svc-https-url = must be an absolute https URL
portal-svc-max-2000 = must be at most 2000 characters
portal-svc-max-1000 = must be at most 1000 characters
portal-svc-email = must be an email address like name@example.com
portal-svc-role-value = a role value must be 1-128 characters of letters, digits, '_', '.', ':' or '-', starting with a letter or digit
portal-svc-redirect-required = at least one redirect URI is required
portal-svc-invite-ttl = must be between 300 seconds and 90 days
portal-svc-client-id = must be 1-128 visible ASCII characters without ':', quotes or backslashes
portal-svc-len-255 = must be 1-255 characters
portal-svc-len-1024 = must be 1-1024 characters
portal-svc-absolute-url = must be an absolute URL
portal-svc-http-url = must be an http(s) URL without query or fragment
portal-svc-openid-scope = must include "openid"
portal-svc-metadata-size = must be at most 1 MB
portal-svc-own-parent = an organization cannot be its own parent
portal-svc-own-ancestor = an organization cannot be its own ancestor
portal-svc-not-linked = the organization is not linked to this app
portal-svc-group-parent = role group { $group } is not allowed for the parent organization on this app
portal-svc-group-missing = role group { $group } does not exist in app { $app }
portal-svc-group-other-app = role group { $group } is not a role group of app { $app }
portal-svc-group-child = role group { $group } is still allowed for the child organization { $child }; remove it there first
portal-svc-member-role-outside = member { $member } still has role "{ $role }", which would fall outside the allowed role groups; change their roles first
portal-svc-role-not-allowed = role "{ $role }" is not in the role groups allowed for this organization
portal-svc-role-not-of-app = role "{ $role }" is not a role of app { $app }
portal-svc-roles-max = at most 500 roles per member
portal-svc-limit = limit must be between 1 and 500.
portal-svc-version-conflict = The object was changed by someone else (version mismatch); reload it and retry.
portal-svc-domain-taken = Another organization has already verified this domain.
portal-svc-already-invited = This person has a pending invitation to this organization; resend it instead.
portal-svc-already-linked = The organization is already linked to this app.
portal-svc-user-exists = A user with this email already exists.
portal-svc-already-member = The user is already a member of this organization.
portal-svc-client-id-exists = An app with this client_id already exists.
portal-svc-app-id-exists = An app with this id already exists.
portal-svc-connection-exists = A connection with this id already exists.
portal-svc-child-linked = The child organization { $child } is still linked to this app; unlink it first.
portal-svc-connection-in-use = The auth policy of the link to app { $app } still uses this connection; change it first.
portal-svc-only-org-admin = Only an org_admin may grant org_admin or change an org admin's membership.
portal-svc-only-operator-field = Only the operator may change an organization's { $field }.
portal-svc-only-operator = Only the operator may do this (app links, allowed role groups, adding an existing user; org admins invite people).
portal-svc-kind-change = the kind of a connection cannot change; create a new connection

## portal: domains
portal-domains-title = Domains
portal-domains-lead = People sign in through this organization when their email address is at one of its verified domains. To prove that the organization owns a domain, publish a DNS TXT record, then verify it here.
portal-domains-yours = Your domains
portal-domains-none = No domains yet.
portal-domains-verified = Verified
portal-domains-verified-on = Verified on { $date }
portal-domains-not-verified = Not verified yet
portal-domains-publish-verify = Publish this TXT record at your DNS provider, then select Verify:
portal-domains-publish = Publish this TXT record at your DNS provider:
portal-domains-proved = The TXT record that proved it (you may remove it from DNS now):
portal-domains-record-name = Record name
portal-domains-record-value = Record value
portal-domains-record-type = Type:
portal-domains-copy-name = the record name
portal-domains-copy-value = the record value
portal-domains-check-again = Check again
portal-domains-verify = Verify { $domain }
portal-domains-remove = Remove { $domain }
portal-domains-add = Add a domain
portal-domains-domain = Domain
portal-domains-domain-hint = The part after @ in your people's email addresses, for example example.com.
portal-domains-add-button = Add domain
portal-domains-added = Domain added. Publish the TXT record below, then select Verify.
portal-domains-removed = Domain removed.
portal-domains-duplicate = This organization already has this domain.
portal-domains-not-found-yet = The TXT record was not found yet. Publish it exactly as shown below at your DNS provider, wait a few minutes (DNS changes can take up to an hour to appear), then select Verify again.
portal-domains-wrong-value = A TXT record exists at this name, but it does not hold the value shown below. Change its value to the one shown, wait a few minutes, then select Verify again.
portal-domains-taken = Another organization has already verified this domain, so it cannot be verified here. If your organization owns it, contact your vendor's support.
portal-domains-dns-down = Lobby could not reach DNS just now, so nothing was checked and nothing changed. Try again in a few minutes.
portal-domains-still-there = Checked again: the TXT record is still published. The domain stays verified.
portal-domains-gone-but-kept = Checked again: the TXT record is no longer published. The domain stays verified (ownership is proven once; removing the record afterwards is normal).
portal-domains-verified-flash = { $domain } is verified. People with an email address at { $domain } now sign in through this organization.
portal-domains-remove-stops = Lobby stops sending people with an email address at { $domain } to this organization's sign-in.
portal-domains-remove-again = To add { $domain } again later, you publish a new TXT record and verify it again.
portal-domains-remove-members-stay = Existing members keep their membership.
portal-domains-remove-title = Remove { $domain }?
portal-domains-remove-question = Remove the domain { $domain }?
portal-domains-remove-confirm = Remove domain

## portal: branding
portal-branding-title = Branding
portal-branding-lead = How the sign-in pages look to people of { $org }: the name shown, a logo, and the colour of buttons and links.
portal-branding-display-name = Display name
portal-branding-display-name-hint = Shown at the top of the sign-in pages. Leave empty to use the organization's name ({ $org }).
portal-branding-logo-url = Logo URL
portal-branding-logo-url-hint = An https address of an image, shown 40 pixels high. Leave empty for no logo.
portal-branding-primary-colour = Primary colour
portal-branding-primary-colour-hint = Six hexadecimal digits like #1a7f5a. Leave empty for Lobby's blue. Pick a dark colour: buttons show white text on it.
portal-branding-preview = Preview
portal-branding-save = Save branding
portal-branding-display-name-unset = Not set (the organization's name is shown)
portal-branding-no-logo = No logo
portal-branding-default-colour = Lobby's blue
portal-branding-preview-heading = Preview of the sign-in page
portal-branding-logo-alt = { $name } logo
portal-branding-your-app = your app
portal-branding-saved = Branding saved. The sign-in pages show it from now on.
portal-branding-changed-meanwhile = Someone else changed this organization since you opened this page. The form shows your values; the preview below shows them too. Save again to replace the current branding.
portal-branding-preview-only = This is a preview: nothing is saved until you select Save branding.

## portal: audit log
portal-audit-title = Audit log
portal-audit-lead = Every change made in this organization, and every sign-in, newest first. Times are in UTC.
portal-audit-filter-label = Filter the audit log
portal-audit-action = Action
portal-audit-actor = Actor
portal-audit-actor-hint = For example user:usr_… or operator.
portal-audit-from = From
portal-audit-to = To
portal-audit-limit = Events per page
portal-audit-filter = Filter
portal-audit-none = No events match.
portal-audit-caption = Audit events, newest first
portal-audit-time = Time
portal-audit-target = Target
portal-audit-outcome = Outcome
portal-audit-details = Details
portal-audit-details-of = of { $action } at { $time }
portal-audit-newest = Newest events
portal-audit-older = Older events
portal-audit-outcome-success = success
portal-audit-outcome-failure = failure
portal-audit-outcome-denied = denied
portal-audit-bad-date = Enter a date like 2026-01-31.
portal-audit-to-before-from = The end date must not be before the start date.
portal-audit-bad-limit = Show between 1 and 500 events per page.

## portal: child organizations
portal-children-title = Child organizations
portal-children-lead = Organizations managed by { $org }. As an administrator of { $org } you administer them too.
portal-children-no-more = No more child organizations.
portal-children-none = { $org } has no child organizations yet.
portal-col-short-name = Short name
portal-col-actions = Actions
portal-children-create = Create a child organization
portal-children-slug-hint = Lowercase letters, digits and hyphens, for example acme-europe. It identifies the organization and cannot be changed later here.
portal-create-org = Create organization
portal-children-created = { $name } was created.
portal-children-bad-limit = Show between 1 and 500 organizations per page.
portal-slug-taken = Another organization already uses this short name; choose another.

## portal: invitations
portal-invitations-title = Invitations
portal-invitations-states = Invitation states
portal-invitations-state-pending = Pending
portal-invitations-state-accepted = Accepted
portal-invitations-state-expired = Expired
portal-invitations-state-revoked = Revoked
portal-invitations-state-all = All
portal-invitation-pending = pending
portal-invitation-accepted = accepted
portal-invitation-expired = expired
portal-invitation-revoked = revoked
portal-invitations-none = No invitations here.
portal-invitations-col-state = State
portal-invitations-col-expires = Expires (UTC)
portal-invitations-col-roles = Roles
portal-invitations-resend = Resend
portal-invitations-resend-label = Resend the invitation to { $email }
portal-invitations-revoke = Revoke
portal-invitations-revoke-label = Revoke the invitation to { $email }
portal-invitations-app = App they are invited to
portal-invitations-app-hint = Named in the email; they sign in to it to accept.
portal-invitations-app-auto = Choose automatically
portal-invitations-roles-in = Roles in { $app }
portal-invitations-org-roles = Org roles (optional)
portal-invitations-send = Send invitation
portal-invitations-email-invalid = Enter an email address like name@example.com.
portal-invitations-app-invalid = Choose an app from the list.
portal-invitations-sent = The invitation was sent to { $email }.
portal-invitations-not-sent = The invitation was created, but the email could not be sent. Use Resend to try again.
portal-invitations-resent = The invitation was sent again with a new link; the old link no longer works.
portal-invitations-revoked = The invitation was revoked; its link no longer works.

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
