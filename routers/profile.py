from fastapi import APIRouter

from app.deps import CurrentUser, SessionDep
from app.schemas.profile import MePublic, MeUpdate, PhoneBindIn
from app.services import profile

router = APIRouter(prefix="/api/v1/me", tags=["profile"])


@router.get("", response_model=MePublic)
async def get_me(user: CurrentUser, session: SessionDep) -> MePublic:
    return await profile.public_me(session, await profile.get_user(session, user))


@router.patch("", response_model=MePublic)
async def update_me(body: MeUpdate, user: CurrentUser, session: SessionDep) -> MePublic:
    return await profile.update_me(session, actor=user, data=body)


@router.post("/phone", response_model=MePublic, summary="Bind the phone number through WeChat's phone API")
async def bind_phone(body: PhoneBindIn, user: CurrentUser, session: SessionDep) -> MePublic:
    return await profile.bind_phone(session, actor=user, code=body.code)
