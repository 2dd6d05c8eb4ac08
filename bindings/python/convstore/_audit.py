"""The audit methods of Store: the tamper-evident audit log (docs/audit.md).

A mixin (kept apart from store.py so each file has one concern); every method is one C call around the records
documented in docs/audit.md.
"""

from __future__ import annotations

from . import _ffi
from ._codec import Time, c_string, dumps, request, time_us
from ._ops import _free_call
from .errors import InvalidArgumentError

__all__ = ["AuditMixin", "audit_keypair"]


def _text(value, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{what} must be a str")
    return value


def _checkpoint_bytes(checkpoint) -> bytes:
    """A checkpoint as the dict the store returned, or its JSON text (str or bytes, as saved to a file)."""
    if isinstance(checkpoint, dict):
        return dumps(checkpoint)
    if isinstance(checkpoint, bytes):
        return checkpoint
    if isinstance(checkpoint, str):
        return checkpoint.encode()
    raise InvalidArgumentError("checkpoint must be a dict or its JSON text")


def audit_keypair() -> dict:
    """A new Ed25519 key pair for audit checkpoints: {"private_key", "public_key"} (64 hex digits each). Keep the
    private key secret and apart from the store; give the public key to whoever checks checkpoints."""
    return _free_call(_ffi.convstore_audit_keypair)


class AuditMixin:
    """Audit methods; mixed into Store (which provides _call and _do)."""

    def set_audit_context(self, *, actor: str | None = None, actor_user_key: str | None = None,
                          ip_address: str | None = None, user_agent: str | None = None) -> None:
        """Who this thread acts as on this store, for the entries convstore writes itself (deleting, editing,
        budget and price changes, ...) and as log_event's defaults. actor is a role or service name, not a person's
        key; actor_user_key a user of the store, recorded by their pseudonymous id. No arguments clears it."""
        o = request(actor=actor, actor_user_key=actor_user_key, ip_address=ip_address, user_agent=user_agent)
        self._do(_ffi.convstore_set_audit_context, dumps(o))

    def log_event(self, action: str, *, resource_type: str | None = None, resource_id: str | None = None,
                  actor: str | None = None, actor_user_key: str | None = None,
                  subject_user_key: str | None = None, details: dict | None = None, personal: dict | None = None,
                  ip_address: str | None = None, user_agent: str | None = None) -> dict:
        """Appends an application's entry to the audit log and returns it: {"seq", "at", "actor", "actor_user",
        "subject_user", "action", "resource_type", "resource_id", "details", "personal", "ip_address",
        "user_agent", "personal_erased", "hash", "prev_hash"}. details must not name people; put what does in
        `personal` (an erase of the user removes it, and the IP address and user agent, while the chain still
        verifies). People are named by user key and stored by pseudonymous id."""
        o = request(action=_text(action, "action"), resource_type=resource_type, resource_id=resource_id,
                    actor=actor, actor_user_key=actor_user_key, subject_user_key=subject_user_key, details=details,
                    personal=personal, ip_address=ip_address, user_agent=user_agent)
        return self._call(_ffi.convstore_log_event, dumps(o))

    def read_audit(self, after_seq: int = 0, *, since: Time | None = None, until: Time | None = None,
                   action: str | None = None, resource_type: str | None = None, resource_id: str | None = None,
                   actor: str | None = None, user_key: str | None = None, pseudonym: str | None = None,
                   limit: int = 100) -> dict:
        """A page of entries, oldest first: {"entries": [...], "next_after_seq"} (0 when there are no more).
        user_key or pseudonym keeps the entries by or about that person."""
        o = request(after_seq=after_seq, action=action, resource_type=resource_type, resource_id=resource_id,
                    actor=actor, user_key=user_key, pseudonym=pseudonym, limit=limit)
        if since is not None:
            o["since"] = time_us(since, "since")
        if until is not None:
            o["until"] = time_us(until, "until")
        return self._call(_ffi.convstore_read_audit, dumps(o))

    def audit_entries(self, after_seq: int = 0, *, batch: int = 1000, **filters):
        """Every entry after after_seq matching the filters of read_audit, read in pages: a generator."""
        while True:
            page = self.read_audit(after_seq, limit=batch, **filters)
            yield from page["entries"]
            if not page["next_after_seq"]:
                return
            after_seq = page["next_after_seq"]

    def verify_audit(self) -> dict:
        """Recomputes the hash chain: {"ok", "entries_checked", "first_seq", "last_seq", "head_hash",
        "first_bad_seq", "problem", "personal_erased"}. A damaged chain is ok=False naming the first entry that
        does not verify, not an exception."""
        return self._call(_ffi.convstore_verify_audit)

    def audit_checkpoint(self, private_key: str) -> dict:
        """Signs the chain's head with an Ed25519 private key (64 hex digits): {"format", "log_id", "seq", "hash",
        "at", "at_us", "public_key", "signature"}. Save it apart from the store (json.dump it to a file): checked
        later with verify_audit_checkpoint, it detects a cut-off tail or a rewritten chain."""
        return self._call(_ffi.convstore_audit_checkpoint, c_string(_text(private_key, "private_key"), "keys"))

    def verify_audit_checkpoint(self, checkpoint, public_key: str) -> dict:
        """Checks the store against a saved checkpoint (the dict, or its JSON text) signed by the key whose public
        half you trust; the result is as verify_audit's, ok=False naming what is wrong."""
        return self._call(_ffi.convstore_verify_audit_checkpoint, _checkpoint_bytes(checkpoint),
                          c_string(_text(public_key, "public_key"), "keys"))
