"""A tenant's policy and its keys' form, as pure rules (jobs/tenancy.py, jobs/api_keys.py)."""

from quartermaster.jobs import api_keys
from quartermaster.jobs.spec import JobSpec
from quartermaster.jobs.tenancy import OPERATOR, Actor, TenantPolicy, policy_breaches, under_policy

POLICY = TenantPolicy(
    images=("qm/*", "10.77.0.1:5000/team-a/*"),
    constraints=("node.labels.pool==a",),
    max_memory=512,
    max_cpus=1.0,
    max_timeout=600,
)


def test_a_job_within_the_policy_breaks_nothing():
    job = JobSpec(image="qm/busybox:latest", memory_mb=512, cpus=1.0, timeout=600)
    assert policy_breaches(POLICY, job) == {}
    assert policy_breaches(TenantPolicy(), JobSpec(image="anything", memory_mb=1)) == {}


def test_each_breach_is_named_never_clamped():
    job = JobSpec(image="evil/miner", memory_mb=513, cpus=1.5, timeout=601)
    assert set(policy_breaches(POLICY, job)) == {"image", "memory", "cpus", "timeout"}
    # A ceiling is not met by leaving the field out: no cpus is no CPU limit at all.
    assert set(policy_breaches(POLICY, JobSpec(image="qm/x", memory_mb=64))) == {"cpus"}
    # The image's pattern is matched whole, case and all.
    assert "image" in policy_breaches(POLICY, JobSpec(image="QM/x", memory_mb=64, cpus=1))
    assert "image" in policy_breaches(POLICY, JobSpec(image="x/qm/y", memory_mb=64, cpus=1))


def test_a_jobs_placement_gains_the_tenants_constraints_and_a_missing_timeout_its_ceiling():
    job = JobSpec(image="qm/x", constraints=("node.role==worker",))
    placed = under_policy(POLICY, job)
    assert placed.constraints == ("node.role==worker", "node.labels.pool==a")
    assert placed.timeout == 600
    assert under_policy(POLICY, JobSpec(image="qm/x", timeout=5)).timeout == 5


def test_rights():
    assert OPERATOR.is_operator and all(OPERATOR.may(right) for right in ("read", "keys"))
    key = Actor("team-a", "ci", frozenset({"read", "keys"}))
    assert key.may("read") and not key.may("run")
    assert key.manages_keys_of("team-a") and not key.manages_keys_of("team-b")
    assert not Actor("team-a", "ci", frozenset({"read"})).manages_keys_of("team-a")


def test_a_key_reads_back_and_its_secret_is_checked_by_its_hash():
    made = api_keys.new_key()
    key_id, secret = api_keys.parse_key(made.text)
    assert key_id == made.key_id and made.text.startswith("qm_")
    assert api_keys.secret_matches(secret, made.secret_hash)
    assert not api_keys.secret_matches(secret[:-1] + "x", made.secret_hash)
    assert secret not in repr(made) and made.secret_hash != secret
    assert len(secret) == 43  # 256 random bits
    assert api_keys.new_key().key_id != made.key_id
    for malformed in ("qm_", "qm_x_y", made.text + "z", made.text.upper(), " " + made.text):
        assert api_keys.parse_key(malformed) is None
