"""Recognising a customer in the store: the associate's search (names by word prefix, exact
email, phone and loyalty card), masked results, the notes staff keep about her (exported and
erased with her), and the recognition as a touchpoint of her journey."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import Shop

from parcours.core.auth.models import Role
from parcours.core.errors import InvalidInput
from parcours.core.uow import UnitOfWork
from parcours.customers import service
from parcours.customers.models import ConsentPurpose, Profile
from parcours.tracking import service as tracking

from .conftest import at

Raw = Callable[[str], list[dict[str, Any]]]


def _camille(uow: UnitOfWork, **traits: Any) -> Profile:
    return service.identify(
        uow=uow,
        user_id="u-camille",
        traits={
            "email": "camille.dupont@exemple.fr",
            "phone": "06 12 34 56 42",
            "loyalty_card": "fid 0042",
            "first_name": "Camille",
            "last_name": "Dupont",
            "city": "Paris",
            **traits,
        },
        channel="web",
        at=at(0),
    )


def _found(uow: UnitOfWork, query: str) -> list[tuple[str, str]]:
    return [(m.profile.id, m.matched_by) for m in service.search_profiles(uow=uow, query=query)]


def test_fold_name_lowers_and_strips_accents_and_punctuation() -> None:
    assert service.fold_name("  Hélène   D'Arc-Éluard ") == "helene d arc eluard"
    assert service.fold_name("ÇA_va%") == "ca va"


def test_a_name_is_found_by_the_start_of_any_of_its_words(uow: UnitOfWork) -> None:
    camille = _camille(uow)
    other = service.identify(
        uow=uow, user_id="u-2", traits={"name": "Dupuis Hélène"}, channel="web", at=at(1)
    )
    service.identify(uow=uow, user_id="u-3", traits={"name": "Marc Blanc"}, channel="web")
    assert camille.search_name == "camille dupont"
    assert {pid for pid, _ in _found(uow, "dup")} == {camille.id, other.id}
    assert _found(uow, "DUPO") == [(camille.id, "name")]
    assert _found(uow, "cam dup") == [(camille.id, "name")]
    assert _found(uow, "helene") == [(other.id, "name")]  # accents need not be typed
    assert _found(uow, "upont") == []  # the start of a word, not any part
    assert _found(uow, "") == []


def test_an_email_a_phone_or_a_loyalty_card_is_an_exact_match(uow: UnitOfWork) -> None:
    camille = _camille(uow)
    assert _found(uow, " Camille.Dupont@Exemple.fr ") == [(camille.id, "email")]
    assert _found(uow, "+33 6 12 34 56 42") == [(camille.id, "phone")]
    assert _found(uow, "0612345642") == [(camille.id, "phone")]
    assert _found(uow, "FID0042") == [(camille.id, "loyalty_card")]
    assert _found(uow, "camille@exemple.fr") == []  # an email is never a prefix search


def test_results_are_masked_for_the_list(uow: UnitOfWork) -> None:
    camille = _camille(uow)
    [match] = service.search_profiles(uow=uow, query="dupont")
    assert service.masked_name(match.profile.traits) == "Camille D."
    values = {i.kind: service.mask_identifier(i.kind, i.value) for i in match.identifiers}
    assert values["email"] == "c***@exemple.fr"
    assert values["phone"] == "+33*******42"
    assert service.city_of(camille.traits) == "Paris"
    assert service.masked_name({"name": "Camille"}) == "Camille"


def test_the_search_name_follows_identify_and_merges(uow: UnitOfWork) -> None:
    anonymous = service.identify(uow=uow, anonymous_id="a-1", channel="web", at=at(0))
    assert anonymous.search_name is None
    service.identify(
        uow=uow, anonymous_id="a-1", traits={"first_name": "Zoé"}, channel="web", at=at(1)
    )
    assert anonymous.search_name == "zoe"
    service.identify(
        uow=uow, anonymous_id="a-1", traits={"last_name": "Lefèvre"}, channel="web", at=at(2)
    )
    assert anonymous.search_name == "zoe lefevre"
    # A nameless survivor takes the merged profile's name, and the search finds her there.
    survivor = service.identify(uow=uow, user_id="u-9", channel="app", at=at(3))
    service.merge_profiles(uow=uow, survivor_id=survivor.id, merged_id=anonymous.id, by="test")
    assert survivor.search_name == "zoe lefevre"
    assert _found(uow, "lef") == [(survivor.id, "name")]  # the merged profile is not listed


def test_an_erased_person_is_not_found(uow: UnitOfWork) -> None:
    camille = _camille(uow)
    service.erase_profile(uow=uow, profile_id=camille.id, by="admin")
    assert uow.session.get(Profile, camille.id).search_name is None  # type: ignore[union-attr]
    assert _found(uow, "dup") == []
    assert _found(uow, "FID0042") == []


def test_notes_are_kept_newest_first_and_checked(uow: UnitOfWork) -> None:
    camille = _camille(uow)
    service.add_customer_note(
        uow=uow,
        profile_id=camille.id,
        kind="note",
        text="Mariage",
        author="stf_1",
        at=at(1),
    )
    service.add_customer_note(
        uow=uow,
        profile_id=camille.id,
        kind="preference",
        text="  Taille 38, préfère le noir ",
        author="stf_1",
        store_id="loc_a",
        at=at(2),
    )
    notes = service.notes_of(uow=uow, profile_id=camille.id)
    assert [(n.kind, n.text) for n in notes] == [
        ("preference", "Taille 38, préfère le noir"),
        ("note", "Mariage"),
    ]
    assert notes[0].id.startswith("cno_")
    for kind, text, code in (
        ("note", "   ", "empty_note"),
        ("note", "x" * 1001, "note_too_long"),
        ("gossip", "hello", "invalid_note_kind"),
    ):
        with pytest.raises(InvalidInput) as refused:
            service.add_customer_note(
                uow=uow, profile_id=camille.id, kind=kind, text=text, author="stf_1"
            )
        assert refused.value.code == code


def test_notes_are_exported_and_erased_with_the_person(uow: UnitOfWork, raw: Raw) -> None:
    camille = _camille(uow)
    service.add_customer_note(
        uow=uow, profile_id=camille.id, kind="preference", text="Taille 38", author="stf_1"
    )
    document = service.export_profile(uow=uow, profile_id=camille.id)
    assert [(n["kind"], n["text"]) for n in document["notes"]] == [("preference", "Taille 38")]
    erasure = service.erase_profile(uow=uow, profile_id=camille.id, by="admin")
    uow.commit()
    assert erasure.counts["notes"] == 1
    assert raw("customer_notes") == []


def test_a_recognition_is_a_touchpoint_unless_she_refused_analytics(uow: UnitOfWork) -> None:
    camille = _camille(uow)
    event_id = service.record_recognition(
        uow=uow, profile_id=camille.id, store_id="loc_a", method="loyalty_card", by="stf_1"
    )
    again = service.record_recognition(
        uow=uow, profile_id=camille.id, store_id="loc_a", method="loyalty_card", by="stf_1"
    )
    assert event_id is not None
    assert again == event_id  # a reload is not a second visit
    [event] = [
        e
        for e in tracking.events_of_profile(uow=uow, profile_id=camille.id)[0]
        if e.event == "Customer Recognised"
    ]
    assert (event.channel, event.store_id) == ("store", "loc_a")
    assert event.properties["method"] == "loyalty_card"
    service.record_consent(
        uow=uow,
        profile_id=camille.id,
        purpose=ConsentPurpose.ANALYTICS,
        granted=False,
        channel="store",
        wording_version="v1",
    )
    assert (
        service.record_recognition(
            uow=uow, profile_id=camille.id, store_id="loc_a", method="search", by="stf_1"
        )
        is None
    )


def test_store_staff_read_and_write_notes_through_the_api(
    uow: UnitOfWork, staff_client: Callable[..., TestClient]
) -> None:
    camille = _camille(uow)
    uow.commit()
    associate = staff_client(Role.ASSOCIATE, stores={"loc_a"})
    created = associate.post(
        f"/v1/customers/{camille.id}/notes",
        json={"kind": "preference", "text": "Taille 38", "store_id": "loc_a"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["kind"] == "preference"
    elsewhere = associate.post(
        f"/v1/customers/{camille.id}/notes", json={"text": "x", "store_id": "loc_b"}
    )
    assert elsewhere.status_code == 403
    listed = associate.get(f"/v1/customers/{camille.id}/notes")
    assert listed.status_code == 200
    assert [n["text"] for n in listed.json()["items"]] == ["Taille 38"]
    marketer = staff_client(Role.MARKETER)
    assert marketer.get(f"/v1/customers/{camille.id}/notes").status_code == 200
    refused = marketer.post(f"/v1/customers/{camille.id}/notes", json={"text": "x"})
    assert refused.status_code == 403


def test_the_pages_follow_a_merge_and_say_when_she_was_erased(
    uow: UnitOfWork, shop: Shop, staff_client: Callable[..., TestClient]
) -> None:
    camille = _camille(uow)
    twin = service.identify(uow=uow, anonymous_id="a-twin", channel="app", at=at(1))
    service.merge_profiles(uow=uow, survivor_id=camille.id, merged_id=twin.id, by="test")
    gone = service.identify(uow=uow, user_id="u-gone", traits={"name": "X Y"}, channel="web")
    camille_id, twin_id, gone_id = camille.id, twin.id, gone.id
    service.erase_profile(uow=uow, profile_id=gone_id, by="admin")
    uow.commit()  # and read nothing more through it: a write transaction would lock SQLite
    tablet = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    card = tablet.get("/associate/clients", params={"q": "FID0042"}, follow_redirects=False)
    assert card.status_code == 303
    assert card.headers["location"] == f"/associate/clients/{camille_id}?via=loyalty_card"
    merged = tablet.get(f"/associate/clients/{twin_id}", follow_redirects=False)
    assert merged.headers["location"] == f"/associate/clients/{camille_id}"
    erased = tablet.get(f"/associate/clients/{gone_id}")
    assert erased.status_code == 404
    assert "effacées à sa demande" in erased.text
    page = tablet.get(f"/associate/clients/{camille_id}")
    assert page.status_code == 200
    assert "camille.dupont@exemple.fr" not in page.text  # masked for an associate
    assert "c***@exemple.fr" in page.text
