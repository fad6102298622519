"""The membership transfer (组织关系转接), declared in one table.

requested ─release (the branch it leaves)→ released ─accept (the branch it joins)→ accepted
    │                                          └─return, with a reason→ returned
    └─cancel (whoever asked, or the branch it leaves)→ cancelled  (released too)

Each step is one service in party.services, run by the one process runner (core.process).
The keepers of a branch (its secretary and organization member, by assignment; the
organization department and town above it) take the steps of their side. The transfer is
due JICENG_PARTY_TRANSFER_DAYS working days after it was asked for; its deadline row puts
it on the supervision clock until it is accepted, returned or cancelled."""

from jiceng.core.access import has_permission
from jiceng.core.actors import Actor
from jiceng.core.masking import mask_name
from jiceng.core.process import Process, Step
from jiceng.party.models import Transfer, TransferEvent

T = Transfer.Status


def LEAVING(actor: Actor, transfer: Transfer) -> bool:
    """A keeper of the branch the member leaves."""
    return has_permission(actor, "party.branch", obj=transfer.from_organization)


def JOINING(actor: Actor, transfer: Transfer) -> bool:
    """A keeper of the branch the member joins."""
    return transfer.to_organization_id is not None and has_permission(
        actor, "party.branch", obj=transfer.to_organization
    )


STEPS = {
    "request": Step("申请转接", (), T.REQUESTED),
    "release": Step("同意转出", (T.REQUESTED,), T.RELEASED, rule=LEAVING),
    "accept": Step("接收", (T.RELEASED,), T.ACCEPTED, rule=JOINING),
    "return": Step("退回", (T.RELEASED,), T.RETURNED, rule=JOINING),
    "cancel": Step("撤回", (T.REQUESTED, T.RELEASED), T.CANCELLED, rule=LEAVING),
    "leave": Step("转出县外", (), T.LEFT),
}


def actor_label(actor: Actor) -> str:
    if actor.is_staff:
        return f"工作人员 {mask_name(actor.user.full_name or actor.user.username)}"
    return "系统"


PROCESS = Process(
    name="party_transfer",
    model=Transfer,
    steps=STEPS,
    event_model=TransferEvent,
    event_object="transfer",
    actor_label=actor_label,
    open_states=Transfer.OPEN,
    due_field="due_at",
    subject="这次组织关系转接",
)
