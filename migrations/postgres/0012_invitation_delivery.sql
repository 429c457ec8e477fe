-- Invitations name the app they are for (the email and the /invite page say which, and where
-- the invitee lands after accepting), who invited (a display name for the email), and the user
-- profile created with the invitation (its membership is `invited` until accepted).
ALTER TABLE invitations ADD COLUMN app_id TEXT COLLATE "C";
ALTER TABLE invitations ADD COLUMN inviter_name TEXT COLLATE "C";
ALTER TABLE invitations ADD COLUMN user_id TEXT COLLATE "C";
