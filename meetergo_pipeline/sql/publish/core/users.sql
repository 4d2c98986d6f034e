-- Published core.users. Users are the customer's own employees (hosts), so their names and
-- e-mail addresses are published: analysts attribute bookings and billing to them.
CREATE TABLE {{published}}.core.users AS
SELECT
    tenant_id,
    user_id,
    email,
    given_name,
    family_name,
    full_name,
    user_type,
    timezone,
    is_admin,
    company_id,
    created_at,
    deleted_at,
    source
FROM core.users;
