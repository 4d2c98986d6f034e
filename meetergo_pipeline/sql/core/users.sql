-- core.users: every platform user the API listed, plus users announced only by a
-- `new_employee` webhook so they show up before the next API sync. The API row wins when
-- both exist. The ingest has read the body's shape (sql/webhooks/canonical_events.sql):
-- user_id, occurred_at and where the user's fields sit (entity_path) are typed columns.
-- Names are read in several spellings on both paths: the live API sends givenName /
-- familyName / fullName, older API versions (and the overview page) firstname / lastname, and
-- the webhook's user fields are undocumented. An empty name counts as missing.
CREATE OR REPLACE TABLE core.users AS
WITH api_users_read AS (
    SELECT
        r.tenant_id,
        r.user_id,
        r.payload->>'email' AS email,
        coalesce(
            nullif(trim(r.payload->>'givenName'), ''),
            nullif(trim(r.payload->>'firstName'), ''),
            nullif(trim(r.payload->>'firstname'), '')
        ) AS given_name,
        coalesce(
            nullif(trim(r.payload->>'familyName'), ''),
            nullif(trim(r.payload->>'lastName'), ''),
            nullif(trim(r.payload->>'lastname'), '')
        ) AS family_name,
        coalesce(
            nullif(trim(r.payload->>'fullName'), ''), nullif(trim(r.payload->>'fullname'), '')
        ) AS full_name_as_sent,
        r.payload->>'userType' AS user_type,
        r.payload->>'timezone' AS timezone,
        TRY_CAST(r.payload->>'isAdmin' AS BOOLEAN) AS is_admin,
        r.payload->>'companyId' AS company_id,
        TRY_CAST(r.payload->>'createdAt' AS TIMESTAMPTZ) AS created_at,
        coalesce(TRY_CAST(r.payload->>'deletedAt' AS TIMESTAMPTZ), r.deleted_at) AS deleted_at
    FROM raw.users AS r
),

api_users AS (
    SELECT
        tenant_id,
        user_id,
        email,
        given_name,
        family_name,
        coalesce(
            full_name_as_sent, nullif(trim(concat_ws(' ', given_name, family_name)), '')
        ) AS full_name,
        user_type,
        timezone,
        is_admin,
        company_id,
        created_at,
        deleted_at,
        'api' AS source
    FROM api_users_read
),

employee_events AS (
    SELECT
        e.tenant_id,
        e.event_key,
        e.user_id,
        e.occurred_at,
        json_extract(e.body, e.entity_path) AS user_fields
    FROM raw.webhook_events AS e
    WHERE e.event_type = 'new_employee' AND e.user_id IS NOT NULL
),

webhook_users_ranked AS (
    SELECT
        tenant_id,
        user_id,
        user_fields->>'email' AS email,
        coalesce(
            user_fields->>'givenName', user_fields->>'firstName', user_fields->>'firstname'
        ) AS given_name,
        coalesce(
            user_fields->>'familyName', user_fields->>'lastName', user_fields->>'lastname'
        ) AS family_name,
        coalesce(
            user_fields->>'fullName', user_fields->>'fullname', user_fields->>'name'
        ) AS full_name_as_sent,
        user_fields->>'userType' AS user_type,
        user_fields->>'timezone' AS timezone,
        TRY_CAST(user_fields->>'isAdmin' AS BOOLEAN) AS is_admin,
        user_fields->>'companyId' AS company_id,
        occurred_at AS created_at,
        row_number() OVER (
            PARTITION BY tenant_id, user_id ORDER BY occurred_at DESC, event_key DESC
        ) AS recency_rank
    FROM employee_events
),

webhook_only_users AS (
    SELECT
        w.tenant_id,
        w.user_id,
        w.email,
        w.given_name,
        w.family_name,
        coalesce(
            nullif(trim(w.full_name_as_sent), ''),
            nullif(trim(concat_ws(' ', w.given_name, w.family_name)), '')
        ) AS full_name,
        w.user_type,
        w.timezone,
        w.is_admin,
        w.company_id,
        w.created_at,
        CAST(NULL AS TIMESTAMPTZ) AS deleted_at,
        'webhook' AS source
    FROM webhook_users_ranked AS w
    WHERE w.recency_rank = 1
      AND NOT EXISTS (
          SELECT 1 FROM raw.users AS r WHERE r.tenant_id = w.tenant_id AND r.user_id = w.user_id
      )
)

SELECT * FROM api_users
UNION ALL BY NAME
SELECT * FROM webhook_only_users
ORDER BY tenant_id, user_id;

COMMENT ON TABLE core.users IS 'One row per meetergo platform user: every user the API listed (source = api) plus users known so far only from a new_employee webhook (source = webhook); the API row wins once it exists. Timestamps are TIMESTAMPTZ instants (shown in UTC by the pipeline).';
COMMENT ON COLUMN core.users.tenant_id IS 'Tenant (meetergo account) the row belongs to: an id of the tenants file, or default. Ids are unique per tenant.';
COMMENT ON COLUMN core.users.user_id IS 'meetergo user id (UUID).';
COMMENT ON COLUMN core.users.email IS 'Login e-mail address of the user.';
COMMENT ON COLUMN core.users.given_name IS 'First name: givenName, else the older firstName / firstname.';
COMMENT ON COLUMN core.users.family_name IS 'Last name: familyName, else the older lastName / lastname.';
COMMENT ON COLUMN core.users.full_name IS 'Display name: fullName as sent, else given and family name joined.';
COMMENT ON COLUMN core.users.user_type IS 'meetergo user type: standard | resource | api-platform | partner. Drives the default metered-booking rule (api-platform).';
COMMENT ON COLUMN core.users.timezone IS 'The user''s own IANA time zone as set in meetergo (not the reporting time zone).';
COMMENT ON COLUMN core.users.is_admin IS 'True when the user is a company admin.';
COMMENT ON COLUMN core.users.company_id IS 'meetergo company the user belongs to.';
COMMENT ON COLUMN core.users.created_at IS 'When the user was created in meetergo (UTC instant); for webhook-only users the event''s occurred_at: the body''s createdAt, else updatedAt, else when it was received.';
COMMENT ON COLUMN core.users.deleted_at IS 'When the user was deleted in meetergo (deletedAt) or, failing that, first found missing from the API list (UTC instant); NULL while active.';
COMMENT ON COLUMN core.users.source IS 'api = read from the users API; webhook = known only from a new_employee webhook so far.';
