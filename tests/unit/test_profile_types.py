"""``livestream.profile_types``: the profile sync's body, declared as pydantic-core schemas, accepts and
refuses exactly what the pydantic models it replaced did, with the same errors, and documents itself
the same (the reference models are kept here, as they were written in ``livestream.models``)."""

from __future__ import annotations

import subprocess
import sys
from typing import Annotated, Any, Optional

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, TypeAdapter, ValidationError
from pydantic_core import ValidationError as CoreValidationError

from livestream.api import validation_details
from livestream.ids import ID_PATTERN
from livestream.profile_types import MAX_COUNT, ProfilePhoto, ProfilePhotoIn, UserProfile, UserProfileIn
from livestream.rules import api_time, check_text

# ---------------------------------------------------------------- the reference: the pydantic models replaced

Text = Annotated[str, Strict(), AfterValidator(check_text)]
Count = Annotated[int, Strict(), Field(ge=0, le=MAX_COUNT)]
VariantName = Annotated[Text, Field(min_length=1, max_length=50)]
ApiTime = Annotated[Text, Field(max_length=64, json_schema_extra={"format": "date-time"}), AfterValidator(api_time)]


class RefProfilePhoto(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", title="ProfilePhoto")

    id: Optional[Text] = Field(None, alias="_id", max_length=64)
    url: Optional[Text] = Field(None, max_length=2048)
    type: Optional[Text] = Field(None, max_length=50)
    variants: dict[VariantName, Annotated[Text, Field(max_length=2048)]] = Field(default_factory=dict, max_length=20)
    createdAt: Optional[Text] = Field(None, max_length=64)
    updatedAt: Optional[Text] = Field(None, max_length=64)


class RefProfilePhotoIn(RefProfilePhoto):
    """``profilePhoto`` as a profile sync sends it: its times converted to the API's format."""

    model_config = ConfigDict(title="ProfilePhotoIn")

    createdAt: Optional[ApiTime] = None
    updatedAt: Optional[ApiTime] = None


class RefUserProfileIn(BaseModel):
    """Body of ``PUT /internal/v1/users/{userId}`` (the user service's profile sync)."""

    model_config = ConfigDict(extra="forbid", strict=True, title="UserProfileIn")

    username: Text = Field(min_length=1, max_length=64)
    name: Text = Field(min_length=1, max_length=100)
    surname: Text = Field(min_length=1, max_length=100)
    profilePhoto: Optional[RefProfilePhotoIn] = None
    availabilityStatus: Optional[Text] = Field(None, max_length=50)
    expertise: Optional[Text] = Field(None, max_length=200)
    followersCount: Count = 0
    followingCount: Count = 0


class RefUserProfile(RefUserProfileIn):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", strict=False, title="UserProfile")

    id: str = Field(alias="_id", pattern=ID_PATTERN)


# ---------------------------------------------------------------- bodies, valid and not


def _text(*lengths: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from([""] + ["x" * n for n in lengths]),
        st.text(st.characters(codec="utf-8"), max_size=6),
        st.sampled_from(["a\x00b", "\x85", "line\nbreak", "\ud800", " ", "é"]),
    )


def _any(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``strategy``'s values, often, and any other JSON type now and then."""
    others = st.one_of(st.none(), st.booleans(), st.integers(-2, 3), st.floats(allow_nan=False), st.lists(st.integers(), max_size=1), st.just({}))
    return st.one_of(strategy, strategy, strategy, others)


times = st.sampled_from(
    [
        "2026-01-15T10:30:00Z",
        "2026-01-15T13:30:00.123456+03:00",
        "2026-01-15t10:30",
        "2026-01-15",
        "1736937000",
        "9999-12-31T23:59:59-05:00",
        "2026-13-40T10:30:00Z",
        "2026-01-15T10:30:00Z" + " " * 50,
    ]
)
photos = st.dictionaries(
    st.sampled_from(["_id", "id", "url", "type", "variants", "createdAt", "updatedAt", "other"]),
    _any(st.one_of(_text(64, 65, 2048, 2049), times, st.dictionaries(_text(1, 50, 51), _any(_text(2048, 2049)), max_size=3))),
    max_size=5,
)
many_variants = st.integers(19, 22).map(lambda n: {"variants": {f"v{i}": "u" for i in range(n)}})
counts = st.sampled_from([0, 1, MAX_COUNT, MAX_COUNT + 1, -1, 1.0, True, "3"])
profiles = st.fixed_dictionaries(
    {},
    optional={
        "username": _any(_text(1, 64, 65)),
        "name": _any(_text(100, 101)),
        "surname": _any(_text(100, 101)),
        "profilePhoto": st.one_of(st.none(), photos, many_variants, st.just("photo")),
        "availabilityStatus": _any(_text(50, 51)),
        "expertise": _any(_text(200, 201)),
        "followersCount": counts,
        "followingCount": counts,
        "_id": st.just("a" * 24),
        "extra": st.just(1),
    },
)
complete = st.fixed_dictionaries({"username": st.just("johndoe"), "name": st.just("John"), "surname": st.just("Doe")})
bodies = st.one_of(
    profiles, st.builds(lambda a, b: {**a, **b}, profiles, complete), st.builds(lambda a, b: {**b, **a}, profiles, complete), st.just([])
)


def _outcome(validate: Any, data: Any) -> Any:
    """What the user service would see: the profile as answered, or the API's error details."""
    try:
        validated = validate(data)
    except (ValidationError, CoreValidationError) as exc:
        return ("errors", validation_details(exc.errors()))
    if isinstance(validated, BaseModel):
        return ("ok", validated.model_dump(mode="json", by_alias=True))
    return ("ok", validated.as_json())


@settings(max_examples=400, deadline=None)
@given(bodies)
def test_a_sync_body_is_accepted_or_refused_as_the_pydantic_model_did_with_the_same_errors(body):
    assert _outcome(UserProfileIn.validate, body) == _outcome(RefUserProfileIn.model_validate, body)


@settings(max_examples=200, deadline=None)
@given(st.one_of(photos, many_variants))
def test_a_stored_photo_is_read_as_the_pydantic_model_did(photo):
    assert _outcome(ProfilePhoto.validate, photo) == _outcome(RefProfilePhoto.model_validate, photo)
    assert _outcome(ProfilePhotoIn.validate, photo) == _outcome(RefProfilePhotoIn.model_validate, photo)


def test_a_valid_body_keeps_its_values_with_the_photo_times_converted():
    body = {"username": "johndoe", "name": "John", "surname": "Doe", "followersCount": 3}
    photo = {
        "_id": "p1",
        "url": "https://example.com/p.jpg",
        "variants": {"40": "https://example.com/40.webp"},
        "createdAt": "2026-01-15T13:30:00+03:00",
        "kept": False,
    }
    profile = UserProfileIn.validate({**body, "profilePhoto": photo})
    assert (profile.username, profile.followersCount, profile.followingCount, profile.expertise) == ("johndoe", 3, 0, None)
    assert profile.as_json()["profilePhoto"] == {
        "_id": "p1",
        "url": "https://example.com/p.jpg",
        "type": None,
        "variants": {"40": "https://example.com/40.webp"},
        "createdAt": "2026-01-15T10:30:00.000Z",
        "updatedAt": None,
    }


def test_the_documented_schemas_are_the_pydantic_models():
    pairs = [(ProfilePhoto, RefProfilePhoto), (ProfilePhotoIn, RefProfilePhotoIn), (UserProfileIn, RefUserProfileIn), (UserProfile, RefUserProfile)]
    for mine, reference in pairs:
        expected = reference.model_json_schema(ref_template="#/components/schemas/{model}")
        expected["$defs"] = {name.removeprefix("Ref"): schema for name, schema in expected.get("$defs", {}).items()} or None
        expected = {key: value for key, value in expected.items() if value is not None}
        assert TypeAdapter(mine).json_schema(ref_template="#/components/schemas/{model}") == _renamed(expected), mine.__name__


def _renamed(schema: Any) -> Any:
    """``#/components/schemas/RefX`` as ``#/components/schemas/X``."""
    if isinstance(schema, dict):
        return {key: (value.replace("/Ref", "/") if key == "$ref" else _renamed(value)) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_renamed(item) for item in schema]
    return schema


def test_validating_a_profile_loads_pydantic_core_but_not_pydantic():
    code = (
        "import sys; from livestream.profile_types import UserProfileIn\n"
        "UserProfileIn.validate({'username': 'u', 'name': 'n', 'surname': 's', 'profilePhoto': {'createdAt': '2026-01-15T10:30:00Z'}})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_core')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONPATH": ":".join(sys.path)})
    assert "'pydantic'" not in loaded.stdout and "pydantic_core" in loaded.stdout


def test_a_snapstart_snapshot_holds_the_validators_built(monkeypatch):
    from livestream import snapstart
    from livestream.notifications import AgoraNotification

    for declared in (UserProfileIn, ProfilePhotoIn, AgoraNotification):
        monkeypatch.setattr(declared, "_validator", None)
    snapstart._build_validators()
    assert all(declared._validator is not None for declared in (UserProfileIn, ProfilePhotoIn, AgoraNotification))
