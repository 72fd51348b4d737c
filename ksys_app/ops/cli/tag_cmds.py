"""`ksys tags group | list | groups`: tag groups, the plant areas `/` shows one at a time
(ksys_app.ops.dataops.tags). These need the owner role (KSYS_ADMIN_DSN)."""

from __future__ import annotations

import click

from ksys_app.ops.cli.options import dsn_option
from ksys_app.ops.errors import OpsError


@click.group(help="Tag groups (plant areas): which tags `/` shows together (/?group=NAME).")
def tags() -> None:
    pass


@tags.command(help="Put TAG... in a group (--group NAME), or take them out of theirs (--clear). A known tag "
                   "without a QC rule gets a rule row with no limits to hold its group. The QC CSV's meta "
                   "\"group\" does the same for the tags it names; `ksys qc verify` reports a group set here "
                   "and not in the CSV as drift.")
@click.argument("tag_names", metavar="TAG...", nargs=-1, required=True)
@click.option("--group", "group", metavar="NAME", help="the group (1..40 printable characters)")
@click.option("--clear", is_flag=True, help="remove the tags from their group")
@dsn_option()
def group(tag_names: tuple[str, ...], group: str | None, clear: bool, dsn: str) -> int:
    from ksys_app.ops.dataops import tags as ops

    if clear == (group is not None):
        raise OpsError("give either --group NAME or --clear")
    changed, created = ops.set_group(dsn, list(tag_names), None if clear else group)
    if clear:
        print(f"{changed} tag(s) taken out of their group")
    else:
        print(f"{changed} tag(s) in group {group.strip()}")
        if created:
            print(f"new QC rule rows (no limits) for: {', '.join(created)}")
    return 0


@tags.command(name="list", help="Every known tag (seen in readings or given a QC rule) with its group and unit.")
@click.option("--group", "group", metavar="NAME", help="only the tags of this group")
@dsn_option()
def list_cmd(group: str | None, dsn: str) -> int:
    from ksys_app.ops.dataops import tags as ops

    rows = ops.list_tags(dsn, group)
    print("tag\tgroup\tunit")
    for r in rows:
        print(f"{r.tag_name}\t{r.group or '-'}\t{r.unit or '-'}")
    return 0


@tags.command(name="groups", help="Each group with the number of its tags.")
@dsn_option()
def groups_cmd(dsn: str) -> int:
    from ksys_app.ops.dataops import tags as ops

    for name, n in ops.group_counts(dsn):
        print(f"{name}\t{n}")
    return 0


COMMANDS = (tags,)
