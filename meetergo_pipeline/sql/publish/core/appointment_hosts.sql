-- Published core.appointment_hosts: which users host each appointment (main host and co-hosts).
CREATE TABLE {{published}}.core.appointment_hosts AS
SELECT
    tenant_id,
    appointment_id,
    user_id,
    is_main_host
FROM core.appointment_hosts;
