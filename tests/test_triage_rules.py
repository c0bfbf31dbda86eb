"""Risk rules: the shipped phrases in five languages, negation, and the rules file format."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deskterm.errors import UserError
from deskterm.triage.rules import load_rules, parse_rules

RULES = load_rules(None)


def rules_of(text: str) -> set[tuple[str, str]]:
    return {(m.rule.level, m.rule.name) for m in RULES.find(text)}


def level_of(text: str) -> str:
    found = RULES.find(text)
    return found[0].rule.level if found else "low"


@pytest.mark.parametrize(("text", "level", "rule"), [
    # English
    ("I will open an A-to-z claim if this is not fixed", "critical", "a_to_z"),
    ("I'm going to dispute the charge with my card company", "critical", "chargeback"),
    ("My lawyer will hear about this", "critical", "legal_threat"),
    ("Expect negative feedback from me", "critical", "negative_feedback"),
    ("The package never arrived.", "high", "not_received"),
    ("Tracking says delivered but there is nothing here", "high", "not_received"),
    ("The lid was cracked when I opened the box", "high", "damaged"),
    ("It stopped working after two days", "high", "defective"),
    ("You sent the wrong item", "high", "wrong_item"),
    ("Where is my order?", "medium", "where_is_my_order"),
    ("I would like to return this", "medium", "return_request"),
    ("Thanks, all good!", "low", "thanks"),
    # Italian
    ("Aprirò un reclamo dalla A alla Z", "critical", "a_to_z"),
    ("Lascerò un feedback negativo", "critical", "negative_feedback"),
    ("Non ho ricevuto il pacco", "high", "not_received"),
    ("La padella è arrivata danneggiata", "high", "damaged"),
    ("Il coperchio è difettoso", "high", "defective"),
    ("Dov'è il mio ordine?", "medium", "where_is_my_order"),
    ("Vorrei fare il reso", "medium", "return_request"),
    ("Grazie mille", "low", "thanks"),
    # German
    ("Ich habe eine Rückbuchung veranlasst", "critical", "chargeback"),
    ("Ich werde meinen Anwalt einschalten", "critical", "legal_threat"),
    ("Ich habe das Paket nicht erhalten", "high", "not_received"),
    ("Der Artikel ist beschädigt angekommen", "high", "damaged"),
    ("Die Pfanne funktioniert nicht", "high", "defective"),
    ("Wo ist meine Bestellung?", "medium", "where_is_my_order"),
    ("Vielen Dank", "low", "thanks"),
    # French
    ("J'ai fait une réclamation au titre de la Garantie A à Z", "critical", "a_to_z"),
    ("Je vais laisser un avis négatif", "critical", "negative_feedback"),
    ("Je n'ai jamais reçu ma commande", "high", "not_received"),
    ("Le colis est arrivé endommagé", "high", "damaged"),
    ("Où est ma commande ?", "medium", "where_is_my_order"),
    ("Merci beaucoup", "low", "thanks"),
    # Spanish
    ("Voy a pedir un contracargo", "critical", "chargeback"),
    ("No he recibido el pedido", "high", "not_received"),
    ("El producto llegó dañado", "high", "damaged"),
    ("¿Dónde está mi pedido?", "medium", "where_is_my_order"),
    ("Muchas gracias", "low", "thanks"),
])
def test_each_language_finds_its_risk_words(text: str, level: str, rule: str) -> None:
    assert (level, rule) in rules_of(text)
    assert level_of(text) == level


@pytest.mark.parametrize("text", [
    "The box was not damaged, thanks",           # negated
    "Nothing broken, it works great",            # negated ("nothing")
    "Il prodotto non è danneggiato",             # Italian negation
    "Der Artikel ist nicht beschädigt",          # German negation
    "Le colis n'est pas endommagé",              # French negation
    "El producto no está dañado",                # Spanish negation
    "> it arrived damaged\nThanks for the quick reply",  # quoted text is not the buyer's new words
    "I love this knife, razor sharp",           # no risk word at all
    "Die Anzeige der Waage ist sehr hell",      # "Anzeige" is a display here, not a police report
    "Ho ricevuto lo storno del pagamento",      # a refund (storno), not a chargeback
])
def test_negations_quotes_and_look_alikes_do_not_raise_the_level(text: str) -> None:
    assert level_of(text) == "low", RULES.find(text)


def test_reasons_quote_the_buyers_own_words_with_rule_and_language() -> None:
    [match] = [m for m in RULES.find("Il coperchio è arrivato DANNEGGIATO") if m.rule.name == "damaged"]
    assert match.text == "DANNEGGIATO" and match.describe() == 'damaged: "DANNEGGIATO" (it)'


def test_a_phrase_does_not_span_sentences() -> None:
    assert ("high", "not_received") not in rules_of("I have not. Received it today, all fine")


def test_wildcards_match_inflections() -> None:
    for word in ("danneggiato", "danneggiata", "danneggiati", "danneggiate"):
        assert ("high", "damaged") in rules_of(f"Il pacco è {word}")


def test_a_workspace_rules_file_replaces_the_default(tmp_path: Path) -> None:
    path = tmp_path / "rules.txt"
    path.write_text("negate en not\nhigh  mould  en  mould*\nmedium missing_manual en missing manual\n")
    rules = load_rules(path)
    assert [m.rule.name for m in rules.find("There is mouldy residue and a missing manual")] == \
        ["mould", "missing_manual"]
    assert rules.find("it is not mouldy") == []


@pytest.mark.parametrize(("content", "message"), [
    ("hihg damaged en damaged", "rules.txt:1: level: expected one of low, medium, high, critical or negate"),
    ("# comment\n\nhigh damaged xx damaged", "rules.txt:3: lang: expected one of en, it, de, fr, es, *"),
    ("high Damaged! en damaged", "rules.txt:1: rule: expected a name"),
    ("high damaged en", "rules.txt:1: phrase: expected: LEVEL RULE LANG PHRASE"),
    ("high damaged en * *", "rules.txt:1: phrase: no words to match"),
    ("negate en", "rules.txt:1: negate: expected: negate LANG WORD..."),
])
def test_a_bad_rules_file_names_file_line_and_field(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "rules.txt"
    path.write_text(content)
    with pytest.raises(UserError) as caught:
        load_rules(path)
    assert str(caught.value).startswith(str(tmp_path / message.split(":")[0]) + ":" + message.split(":", 1)[1])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_is_read_without_error(text: str) -> None:
    for match in RULES.find(text):
        assert match.rule.level in ("low", "medium", "high", "critical") and match.text


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60), max_size=8))
def test_any_rules_file_parses_or_names_the_bad_line(lines: list[str]) -> None:
    try:
        rules = parse_rules("\n".join(lines), "rules.txt")
    except UserError as exc:
        assert str(exc).startswith("rules.txt:")
    else:
        rules.find(" ".join(lines))
