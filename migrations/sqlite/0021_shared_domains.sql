-- Shared email domains (issue 16 item 3): an org that verified a domain may mark it shared
-- ("other organizations' members also use this domain"); discovery then no longer routes the
-- domain straight to it but offers the emailed link to the orgs the address can sign in to.
-- Verification stays exclusive (one org proves control of the domain).
ALTER TABLE org_domains ADD COLUMN shared INTEGER NOT NULL DEFAULT 0;
-- The emailed org chooser lists an address's pending invitations across orgs by an indexed read.
CREATE INDEX invitations_email_idx ON invitations (email, status);
