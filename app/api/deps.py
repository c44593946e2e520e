"""Request dependencies: the service state (settings and the job backend's interfaces, app/backends), the job
store and the caller's identity (Bearer key)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.backends import Backend, JobQueue, JobRepository, ResultStore, Runner
from app.core.config import Settings
from app.problems import ApiProblem

#: The owner of every job when the server runs with --no-auth.
ANONYMOUS = "anonymous"


def key_hash(key: str) -> str:
    """How an API key is identified in the store: its SHA-256 (the key itself is never stored)."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass
class ServiceState:
    """Everything the routes need, built once in the app's lifespan."""

    settings: Settings
    backend: Backend
    key_hashes: tuple[str, ...]
    webhook_master: bytes

    @property
    def base(self) -> str:
        return self.settings.public_url or ""

    @property
    def store(self) -> JobRepository:
        """The job records (SQLite or PostgreSQL)."""
        return self.backend.repository

    @property
    def queue(self) -> JobQueue:
        return self.backend.queue

    @property
    def results(self) -> ResultStore:
        """Where inputs and result files live."""
        return self.backend.results

    @property
    def runner(self) -> Runner | None:
        """The workers as this process sees them (None: the API only queues jobs)."""
        return self.backend.runner


def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.soundcue
    return state


StateDep = Annotated[ServiceState, Depends(get_state)]


def get_settings(state: StateDep) -> Settings:
    return state.settings


def get_store(state: StateDep) -> JobRepository:
    return state.store


SettingsDep = Annotated[Settings, Depends(get_settings)]
JobStoreDep = Annotated[JobRepository, Depends(get_store)]

_bearer = HTTPBearer(auto_error=False, description="An API key from SOUNDCUE_API_KEYS.")


def _unauthorized(detail: str) -> ApiProblem:
    return ApiProblem(401, "unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="soundcue"'})


def identify(state: ServiceState, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    """The owner id of a presented key; None when no key was presented.

    Raises:
        ApiProblem: 401 for an unknown key.
    """
    if state.settings.no_auth:
        return ANONYMOUS
    if credentials is None:
        return None
    presented = key_hash(credentials.credentials)
    # Compare against every configured hash in constant time, without stopping early.
    match = False
    for known in state.key_hashes:
        match |= hmac.compare_digest(presented, known)
    if not match:
        raise _unauthorized("the API key is not valid")
    return presented


def get_owner(
    state: StateDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> str:
    owner = identify(state, credentials)
    if owner is None:
        raise _unauthorized("send an API key as 'Authorization: Bearer <key>'")
    return owner


def get_optional_owner(
    state: StateDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> str | None:
    return identify(state, credentials)


OwnerDep = Annotated[str, Depends(get_owner)]
OptionalOwnerDep = Annotated[str | None, Depends(get_optional_owner)]
