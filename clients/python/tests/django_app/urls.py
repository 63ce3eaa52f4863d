"""Views that use request.session the way apps do: read, write, log in, log out."""

import json

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path


def read(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(request.session.get("user", "anonymous")))


def write(request: HttpRequest) -> HttpResponse:
    for key, value in json.loads(request.body).items():
        request.session[key] = value
    return HttpResponse("stored")


def add_to_cart(request: HttpRequest) -> HttpResponse:
    request.session.setdefault("cart", []).append(request.POST["item"])  # no `modified = True`
    return HttpResponse("added")


def login(request: HttpRequest) -> HttpResponse:
    request.session["user"] = request.POST["user"]
    request.session.cycle_key()
    return HttpResponseRedirect("/read", status=303)


def logout(request: HttpRequest) -> HttpResponse:
    request.session.flush()
    return HttpResponseRedirect("/read", status=303)


urlpatterns = [
    path("read", read),
    path("write", write),
    path("cart", add_to_cart),
    path("login", login),
    path("logout", logout),
]
