"""Migration operation that makes a table append-only in PostgreSQL.

Used for every history table and every other audit record table: UPDATE, DELETE and TRUNCATE
are refused by a trigger, whoever issues them (the app, the admin, or raw SQL).
"""

from django.db.migrations.operations.base import Operation

FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit trail table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
"""
DROP_FUNCTION_SQL = "DROP FUNCTION IF EXISTS audit_refuse_change();"

ROW_TRIGGER = "audit_append_only"
TRUNCATE_TRIGGER = "audit_append_only_truncate"


def _create_sql(table: str) -> list[str]:
    return [
        f'CREATE OR REPLACE TRIGGER {ROW_TRIGGER} BEFORE UPDATE OR DELETE ON "{table}" '
        "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();",
        f'CREATE OR REPLACE TRIGGER {TRUNCATE_TRIGGER} BEFORE TRUNCATE ON "{table}" '
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();",
    ]


def _drop_sql(table: str) -> list[str]:
    return [
        f'DROP TRIGGER IF EXISTS {ROW_TRIGGER} ON "{table}";',
        f'DROP TRIGGER IF EXISTS {TRUNCATE_TRIGGER} ON "{table}";',
    ]


class InstallAuditFunction(Operation):
    reversible = True
    reduces_to_sql = True

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        schema_editor.execute(FUNCTION_SQL, params=None)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        schema_editor.execute(DROP_FUNCTION_SQL)

    def describe(self):
        return "Install the audit_refuse_change() trigger function"


class AppendOnly(Operation):
    """Make the table of `model_name` (in this migration's app) append-only."""

    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str):
        self.model_name = model_name

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.model_name], {})

    def state_forwards(self, app_label, state):
        pass

    def _table(self, app_label, state) -> str:
        return state.apps.get_model(app_label, self.model_name)._meta.db_table

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        for sql in _create_sql(self._table(app_label, to_state)):
            schema_editor.execute(sql)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        for sql in _drop_sql(self._table(app_label, from_state)):
            schema_editor.execute(sql)

    def describe(self):
        return f"Make {self.model_name} append-only"

    @property
    def migration_name_fragment(self):
        return f"append_only_{self.model_name.lower()}"
