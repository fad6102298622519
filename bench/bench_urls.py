"""The product's URLs plus one bare JSON endpoint: the baseline for intake throughput,
served by the same server through the same middleware."""

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from jiceng.urls import urlpatterns as product


@login_not_required
@csrf_exempt
def bare(request):
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/bare", bare), *product]
