"""The signed-in resident, for the resident pages' header."""

from jiceng.residents.services import SESSION_KEY, current_resident


def resident(request):
    session = getattr(request, "session", None)
    if session is None or SESSION_KEY not in session:
        return {}
    return {"resident": current_resident(request)}
