"""What the navigation may offer this user (from memberships already read once)."""

from jiceng.core.access import has_permission

NAV = {
    "cases": ("cases.view", "cases.handle"),  # handlers see what is routed to them
    "submit": "cases.submit",
    "supervise": "cases.supervise",
    "patrols": "patrols.view",
    "figures": "cases.figures",
    "catalogue": "cases.manage_catalogue",
    "activities": "activities.view",
    "points": "points.view",
    "stores": "stores.manage",
    "counter": "stores.serve",
    "people": "people.view",
    "import": "people.import",
    "moves": ("people.verify_move", "people.settle_move"),
    "party": "party.view",
    "users": "users.manage",
    "grants": "security.grant",
    "audit": "audit.view",
}


def nav(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": {}}
    return {
        "nav": {
            key: any(has_permission(user, p) for p in ((perm,) if isinstance(perm, str) else perm))
            for key, perm in NAV.items()
        }
    }
