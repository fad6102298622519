"""A kind of gathering declared only here, by a pretend app: the property manager's
reception day (物业经理接待日), organized by the community's staff. Nothing in the
gatherings app knows it."""

from jiceng.core.access import has_permission
from jiceng.gatherings.kinds import Kind, Note, declare

CODE = "test_reception"


def organizes(actor, gathering) -> bool:
    return has_permission(actor, "gatherings.venues", gathering.region_code)


RECEPTION = declare(
    Kind(
        code=CODE,
        label="物业经理接待日",
        organizes=organizes,
        notes=lambda gatherings: {g.pk: Note(tags=("接待日",)) for g in gatherings},
    )
)
