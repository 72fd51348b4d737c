"""db/schema.<engine>.sql is what the migrations build: regenerated after every
schema change (python -m ksys_dev.schema_snapshot), checked here."""

from __future__ import annotations

import difflib

from ksys_dev.schema_snapshot import dump_schema, snapshot_path


def test_schema_snapshot_is_current(migrated_dsn, engine):
    path = snapshot_path(engine)
    assert path.is_file(), f"{path} is missing: run `.venv/bin/python -m ksys_dev.schema_snapshot`"
    got, want = dump_schema(migrated_dsn), path.read_text()
    diff = list(difflib.unified_diff(want.splitlines(), got.splitlines(), str(path), "migrated database",
                                     lineterm="", n=1))
    assert not diff, ("the migrations build another schema than the snapshot; run "
                      "`.venv/bin/python -m ksys_dev.schema_snapshot` and commit db/:\n" + "\n".join(diff[:60]))
