-- The member lists filter an org's members by status (portal and admin API `?status=`) and
-- page them by user id: an index that serves both without reading the org's other members.
CREATE INDEX memberships_org_status_idx ON memberships (org_id, status, user_id);
