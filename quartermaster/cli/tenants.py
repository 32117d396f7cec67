"""`qm whoami`, `qm tenants ...`, `qm keys ...` and `qm audit`: who the token is, tenants and
their keys, and the audit trail."""

import time

import click

from quartermaster.cli.app import Connection, F, json_option, qm
from quartermaster.cli.output import (
    age,
    echo,
    plain_table,
    print_fields,
    print_json,
    print_table,
    warn,
)
from quartermaster.cli.parsing import since_time
from quartermaster.client import AuditEntry, Key, Tenant

RIGHTS = ("read", "run", "stop", "keys", "templates", "dispatch")
DEFAULT_ENTRIES = 20
FOLLOW_SECONDS = 2.0  # how often `qm audit -f` asks for new entries


@qm.command()
@json_option
@click.pass_obj
def whoami(connection: Connection, as_json: bool) -> None:
    """Who the token or key is: the operator, or a tenant's key and its rights."""
    with connection.client() as client:
        identity = client.whoami()
    if as_json:
        print_json(identity.document)
    elif identity.operator:
        echo("operator (every right, every tenant's jobs)")
    else:
        expires = identity.expires_at.isoformat() if identity.expires_at else "never"
        print_fields(
            [
                ("tenant", identity.tenant or ""),
                ("key", identity.key or ""),
                ("rights", ", ".join(identity.rights)),
                ("expires", expires),
            ]
        )


@qm.group()
def tenants() -> None:
    """Tenants (teams owning jobs) and their policies: the operator's token."""


def policy_options(command: F) -> F:
    """The options of a tenant's policy, shared by create and update."""
    options = [
        click.option("--image", "images", multiple=True, metavar="GLOB",
                     help="An image pattern it may run (repeat; none: any image)."),
        click.option("--constraint", "constraints", multiple=True, metavar="EXPR",
                     help="A placement constraint added to each of its jobs (repeat)."),
        click.option("--max-memory", type=click.IntRange(1), help="MB: a job's memory at most."),
        click.option("--max-cpus", type=click.FloatRange(0, min_open=True),
                     help="A job's cpus at most (jobs must then give cpus)."),
        click.option("--max-timeout", type=click.IntRange(1),
                     help="Seconds: a job's timeout at most; the default timeout."),
        click.option("--quota-memory", type=click.IntRange(1),
                     help="Quota, MB: its live jobs' memory at most (past it a job waits)."),
        click.option("--quota-cpus", type=click.FloatRange(0, min_open=True),
                     help="Quota: its live jobs' cpus at most (jobs must then give cpus)."),
        click.option("--quota-jobs", type=click.IntRange(1), help="Quota: live jobs at most."),
        click.option("--quota-queued", type=click.IntRange(0),
                     help="Quota: jobs waiting at most (default 1000); past it a /run is 429."),
        click.option("--runs-per-minute", type=click.IntRange(1),
                     help="Quota: /run requests in any 60 s at most; past it 429."),
        click.option("--weight", type=click.IntRange(1),
                     help="Its share of a full swarm (default 1)."),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


@tenants.command("create")
@click.argument("name")
@policy_options
@json_option
@click.pass_obj
def create_tenant(connection: Connection, name: str, as_json: bool, **policy) -> None:
    """Make the tenant NAME with its policy."""
    with connection.client() as client:
        made = client.create_tenant(
            name,
            images=policy["images"] or None,
            constraints=policy["constraints"] or None,
            max_memory=policy["max_memory"],
            max_cpus=policy["max_cpus"],
            max_timeout=policy["max_timeout"],
            quota={name: value for name, value in quota_given(policy).items() if value is not None},
            weight=policy["weight"],
        )
    show_tenant(made, as_json)


# The quota's fields and the options that set them.
QUOTA_OPTIONS = {
    "memory": "quota_memory",
    "cpus": "quota_cpus",
    "jobs": "quota_jobs",
    "queued": "quota_queued",
    "runs_per_minute": "runs_per_minute",
}
LIFTABLE = ("memory", "cpus", "timeout", "quota-memory", "quota-cpus", "quota-jobs",
            "runs-per-minute")  # fmt: skip


def quota_given(options: dict) -> dict:
    """The quota's fields as the options give them (None: not given)."""
    return {field: options[option] for field, option in QUOTA_OPTIONS.items()}


@tenants.command("list")
@json_option
@click.pass_obj
def list_tenants(connection: Connection, as_json: bool) -> None:
    """Every tenant and its policy."""
    with connection.client() as client:
        found = client.tenants()
    if as_json:
        print_json([tenant.document for tenant in found])
        return
    print_table(TENANT_HEADERS, [tenant_row(tenant) for tenant in found])


@tenants.command("show")
@click.argument("name")
@json_option
@click.pass_obj
def show(connection: Connection, name: str, as_json: bool) -> None:
    """The tenant NAME and its policy."""
    with connection.client() as client:
        show_tenant(client.tenant(name), as_json)


@tenants.command("update")
@click.argument("name")
@policy_options
@click.option("--any-image", is_flag=True, help="Lift the image patterns.")
@click.option("--no-constraints", is_flag=True, help="Remove the added constraints.")
@click.option("--lift", multiple=True, type=click.Choice(LIFTABLE),
              help="Lift this ceiling or cap (repeat).")  # fmt: skip
@json_option
@click.pass_obj
def update_tenant(
    connection: Connection,
    name: str,
    any_image: bool,
    no_constraints: bool,
    lift: tuple[str, ...],
    as_json: bool,
    **policy,
) -> None:
    """Change the tenant NAME's policy, quota or weight: only what is given changes."""
    changes: dict = {}
    if policy["images"] or any_image:
        changes["images"] = list(policy["images"])
    if policy["constraints"] or no_constraints:
        changes["constraints"] = list(policy["constraints"])
    for ceiling in ("memory", "cpus", "timeout"):
        value = policy[f"max_{ceiling}"]
        if value is not None or ceiling in lift:
            changes[f"max_{ceiling}"] = value
    quota = {
        field: value
        for field, value in quota_given(policy).items()
        if value is not None or QUOTA_OPTIONS[field].replace("_", "-") in lift
    }
    if quota:
        changes["quota"] = quota
    if policy["weight"] is not None:
        changes["weight"] = policy["weight"]
    if not changes:
        raise click.UsageError("nothing to change: give an option")
    with connection.client() as client:
        show_tenant(client.update_tenant(name, **changes), as_json)


@tenants.command("delete")
@click.argument("name")
@click.pass_obj
def delete_tenant(connection: Connection, name: str) -> None:
    """Remove the tenant NAME and its keys (not while it has live jobs; its history stays)."""
    with connection.client() as client:
        client.delete_tenant(name)
    echo(f"removed tenant {name}")


def show_tenant(tenant: Tenant, as_json: bool) -> None:
    if as_json:
        print_json(tenant.document)
        return
    print_fields(list(zip(TENANT_HEADERS, tenant_row(tenant), strict=True)))


TENANT_HEADERS = [
    "name", "images", "constraints", "max memory", "max cpus", "max timeout", "quota", "weight",
    "in use",
]  # fmt: skip


def tenant_row(tenant: Tenant) -> list[str]:
    return [
        tenant.name,
        ", ".join(tenant.images) or "any",
        ", ".join(tenant.constraints) or "-",
        "-" if tenant.max_memory is None else f"{tenant.max_memory} MB",
        "-" if tenant.max_cpus is None else f"{tenant.max_cpus:g}",
        "-" if tenant.max_timeout is None else f"{tenant.max_timeout} s",
        quota_text(tenant.quota),
        str(tenant.weight),
        in_use_text(tenant.in_use, tenant.quota),
    ]


def quota_text(quota: dict) -> str:
    """E.g. `jobs 5, memory 4096 MB, queued 1000`: its caps set, and the queue's bound."""
    units = {"memory": " MB", "runs_per_minute": "/min"}
    words = {"runs_per_minute": "runs"}
    return ", ".join(
        f"{words.get(field, field)} {value:g}{units.get(field, '')}"
        for field, value in quota.items()
        if value is not None
    )


@qm.group()
def keys() -> None:
    """A tenant's keys: the operator's token, or a key of that tenant with the keys right."""


@keys.command("create")
@click.argument("tenant")
@click.argument("name")
@click.option("--right", "rights", multiple=True, required=True, type=click.Choice(RIGHTS),
              help="A right the key carries (repeat).")  # fmt: skip
@click.option("--expires-in", type=click.IntRange(1), metavar="SECONDS",
              help="Seconds until the key stops working (default: never).")  # fmt: skip
@json_option
@click.pass_obj
def create_key(
    connection: Connection,
    tenant: str,
    name: str,
    rights: tuple[str, ...],
    expires_in: int | None,
    as_json: bool,
) -> None:
    """Make the key NAME of TENANT. Its secret goes to stdout, alone on its line (or as `key`
    with --json): it is shown this once."""
    with connection.client() as client:
        made = client.create_key(tenant, name, rights, expires_in)
    warn(f"the key {tenant}/{name} is shown once, below: keep it now, it is not shown again")
    if as_json:
        print_json({**made.document, "key": made.secret})
    else:
        click.echo(made.secret)


@keys.command("list")
@click.argument("tenant")
@json_option
@click.pass_obj
def list_keys(connection: Connection, tenant: str, as_json: bool) -> None:
    """TENANT's keys (never a secret)."""
    with connection.client() as client:
        found = client.keys(tenant)
    if as_json:
        print_json([key.document for key in found])
        return
    print_table(["name", "rights", "created", "expires", "last used"], [key_row(k) for k in found])


@keys.command("revoke")
@click.argument("tenant")
@click.argument("name")
@click.pass_obj
def revoke_key(connection: Connection, tenant: str, name: str) -> None:
    """Revoke TENANT's key NAME: it stops working everywhere within 2 s."""
    with connection.client() as client:
        client.revoke_key(tenant, name)
    echo(f"revoked key {tenant}/{name}")


def key_row(key: Key) -> list[str]:
    return [
        key.name,
        ",".join(key.rights),
        age(key.created_at),
        key.expires_at.isoformat() if key.expires_at else "never",
        age(key.last_used_at) if key.last_used_at else "never",
    ]


@qm.command()
@click.argument("tenant", required=False)
@click.option(
    "--since",
    help="The window's start: UNIX time, 7d back, or an RFC 3339 time "
    "(default: a day before its end).",
)
@click.option("--until", help="The window's end, the same way (default: now).")
@json_option
@click.pass_obj
def usage(
    connection: Connection,
    tenant: str | None,
    since: str | None,
    until: str | None,
    as_json: bool,
) -> None:
    """What TENANT's jobs used in a window and hold now (TENANT: the key's own by default)."""
    with connection.client() as client:
        name = tenant or client.whoami().tenant
        if name is None:
            raise click.UsageError("the operator's token: name a TENANT")
        found = client.usage(
            name,
            since=None if since is None else since_time(since),
            until=None if until is None else since_time(until),
        )
    if as_json:
        print_json(found.document)
        return
    window = f"{found.since:%Y-%m-%d %H:%M} to {found.until:%Y-%m-%d %H:%M} UTC"
    made = ", ".join(f"{count} {status}" for status, count in found.jobs.items()) or "none"
    print_fields([
        ("tenant", found.tenant),
        ("window", window),
        ("jobs made", made),
        ("run time", f"{found.run_seconds:.0f} s"),
        ("memory", f"{found.memory_mb_seconds:.0f} MB·s"),
        ("cpu", f"{found.cpu_seconds:.1f} cpu·s"),
        ("in use now", in_use_text(found.in_use, {})),
    ])  # fmt: skip


def in_use_text(in_use: dict | None, quota: dict) -> str:
    """E.g. `2/5 jobs, 512/4096 MB, 0.5 cpus, 3 queued`: what its jobs hold, against its caps."""
    if in_use is None:
        return "-"

    def against(field: str, text: str, unit: str = "") -> str:
        cap = quota.get(field)
        return f"{text}{unit}" if cap is None else f"{text}/{cap:g}{unit}"

    return ", ".join([
        against("jobs", f"{in_use['jobs']}", " jobs"),
        against("memory", f"{in_use['memory']}", " MB"),
        against("cpus", f"{in_use['cpus']:g}", " cpus"),
        f"{in_use['queued']} queued",
    ])  # fmt: skip


@qm.command()
@click.option("--tenant", help="Entries whose actor or target is of this tenant.")
@click.option("--actor", help="operator, or TENANT/KEY.")
@click.option("--action", help="run, run_refused, stop, tenant_created, key_revoked, ...")
@click.option("--target", help="A job id, a tenant or key name.")
@click.option("--limit", type=click.IntRange(1), default=DEFAULT_ENTRIES, show_default=True,
              help="At most this many entries (the newest).")  # fmt: skip
@click.option("-f", "--follow", is_flag=True, help="Then show new entries as they come.")
@json_option
@click.pass_obj
def audit(
    connection: Connection,
    tenant: str | None,
    actor: str | None,
    action: str | None,
    target: str | None,
    limit: int,
    follow: bool,
    as_json: bool,
) -> None:
    """The audit trail: who did what, when, to what, answered how (newest last)."""
    with connection.client() as client:

        def oldest_first(since: float | None = None, most: int | None = None) -> list[AuditEntry]:
            found = client.audit(tenant=tenant, actor=actor, action=action, target=target,
                                 since=since, limit=most)  # fmt: skip
            return list(reversed(list(found)))

        shown = oldest_first(most=limit)
        show_entries(shown, as_json, header=True)
        seen = {entry.id for entry in shown}
        while follow:
            time.sleep(FOLLOW_SECONDS)
            since = shown[-1].at.timestamp() if shown and shown[-1].at else None
            new = [entry for entry in oldest_first(since) if entry.id not in seen]
            show_entries(new, as_json, header=False)
            seen.update(entry.id for entry in new)
            shown += new


def show_entries(entries: list[AuditEntry], as_json: bool, header: bool) -> None:
    if as_json:
        for entry in entries:
            print_json(entry.document)
        return
    rows = [audit_row(entry) for entry in entries]
    if header:
        print_table(AUDIT_HEADERS, rows)
    elif rows:
        click.echo(plain_table(AUDIT_HEADERS, rows).split("\n", 1)[1], nl=False)


AUDIT_HEADERS = ["at", "actor", "action", "target", "code", "client"]


def audit_row(entry: AuditEntry) -> list[str]:
    return [
        entry.at.strftime("%Y-%m-%d %H:%M:%S") if entry.at else "-",
        entry.actor,
        entry.action,
        entry.target or "-",
        str(entry.code),
        entry.client or "-",
    ]
