-- Empty one entity's session-only staging table once its rows are merged.
DELETE FROM staged_{{entity}}
