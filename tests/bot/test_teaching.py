"""Staff teaching worker (bot/teaching; issue 11 items 4-5). Bot env:

    PYTHONPATH=bot .venv-bot/bin/python -m pytest tests/bot/test_teaching.py -q -p no:cacheprovider \
        --confcutdir=tests/bot -c /dev/null --rootdir=tests/bot

Unit tests for validate and merge on small data, plus ONE real Rasa training run (a tiny project:
two intents + a staff intent) through the worker's own functions.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bot"))

from teaching.evaluate import cv_folds, gate, per_label, staff_items  # noqa: E402
from teaching.layer import LayerError, parse_layer  # noqa: E402
from teaching.merge import build_project, staff_domain, staff_rules  # noqa: E402
from teaching.validate import BotData, normalized, validate_layer  # noqa: E402

VACINA = ["tem vacina da gripe?", "vocês aplicam vacina de gripe", "quando começa a vacinação da gripe",
          "preciso tomar a vacina da gripe", "a campanha de vacina ja comecou?", "vacina influenza tem ai",
          "quanto custa a vacina da gripe", "posso levar meu filho pra vacinar", "vacina pra idoso tem",
          "qual horário da vacinação"]


def bot_data() -> BotData:
    return BotData(
        examples=[("qual o endereço?", "clinic_address"), ("onde fica a clinica", "clinic_address"),
                  ("tem estacionamento?", "clinic_parking"), ("quero marcar consulta", "book_appointment")],
        intents={"clinic_address", "clinic_parking", "book_appointment", "urgent_symptom", "request_human",
                 "nlu_fallback"},
        reasons={"clinic_address": "other", "clinic_parking": "other", "book_appointment": "booking",
                 "urgent_symptom": "urgent", "request_human": "human", "nlu_fallback": "other"},
        responses={"utter_goodbye": ("base.yml", [{"text": "Até logo!"}]),
                   "utter_handoff_closed": ("human.yml", [{"text": "Fechada; respondemos {when}."}]),
                   "utter_urgent_emergency": ("urgent.yml", [{"text": "Ligue 192"}])})


def layer(**changes: Any) -> dict[str, Any]:
    intent: dict[str, Any] = {"name": "staff_vacina_gripe", "reason": "vacinas", "examples": list(VACINA),
              "answer": {"text": "Vacinação de seg a sex, 8h-17h.",
                         "buttons": [{"title": "Falar com atendente", "payload": "/request_human"}]},
              "handoff": None}
    intent.update(changes)
    return {"version": 2, "intents": [intent], "answers": {}, "labelled": []}


def check(data: dict[str, Any]) -> tuple[list[str], list[str]]:
    res = validate_layer(parse_layer(data), bot_data())
    return res.errors, res.warnings


# --- shape ---------------------------------------------------------------------------------------


def test_shape_errors_are_pt_br() -> None:
    with pytest.raises(LayerError, match="version"):
        parse_layer({"intents": []})
    with pytest.raises(LayerError, match="examples"):
        parse_layer({"version": 1, "intents": [{"name": "staff_x", "examples": "oi"}]})
    assert parse_layer({"version": 1, "intents": [{"name": "staff_x", "answer": "texto"}]}).intents[0].answer == {
        "text": "texto", "buttons": []}


# --- validate ------------------------------------------------------------------------------------


def test_valid_layer_has_only_the_new_reason_warning() -> None:
    errors, warnings = check(layer())
    assert errors == []
    assert len(warnings) == 1 and "'vacinas' é novo" in warnings[0]


def test_too_few_examples_is_an_error_and_under_ten_a_warning() -> None:
    errors, _ = check(layer(examples=VACINA[:4]))
    assert any("mínimo é 5" in e for e in errors)
    errors, warnings = check(layer(examples=VACINA[:7]))
    assert errors == [] and any("só 7 exemplos" in w for w in warnings)


def test_near_identical_examples_count_once() -> None:
    assert normalized("Vc tem VACINA da gripe?!") == normalized("voce tem vacina da gripe")
    errors, warnings = check(layer(examples=[*VACINA[:4], "TEM VACINA DA GRIPE", "tem vacina da gripe!!"]))
    assert any("praticamente igual" in w for w in warnings)
    assert any("mínimo é 5" in e for e in errors)  # 4 distinct


def test_example_already_in_another_intent() -> None:
    errors, _ = check(layer(examples=[*VACINA, "Qual o endereco"]))
    assert any("já existe na intenção 'clinic_address'" in e for e in errors)
    data = layer()
    data["labelled"] = [{"text": "tem vacina da gripe", "intent": "clinic_parking"}]
    errors, _ = check(data)
    assert any("'staff_vacina_gripe'" in e for e in errors)


def test_name_clash_bad_name_and_reason_shape() -> None:
    errors, _ = check(layer(name="clinic_address"))
    assert any("nome inválido" in e for e in errors) and any("já existe uma intenção" in e for e in errors)
    data = layer()
    data["intents"].append(dict(data["intents"][0], examples=[f"{e} ok" for e in VACINA]))
    assert any("nome repetido" in e for e in check(data)[0])
    assert any("motivo 'Vacinas!' inválido" in e for e in check(layer(reason="Vacinas!"))[0])
    assert any("'urgent'" in e for e in check(layer(reason="urgent"))[0])


def test_empty_and_huge_examples() -> None:
    errors, _ = check(layer(examples=[*VACINA, "   ", "x" * 501]))
    assert any("exemplo vazio" in e for e in errors) and any("501 caracteres" in e for e in errors)


def test_red_flag_in_non_urgent_intent_needs_an_override() -> None:
    flagged = "estou com dor no peito forte e falta de ar"
    errors, _ = check(layer(examples=[*VACINA, flagged]))
    assert any("sinal de alerta" in e for e in errors)
    errors, warnings = check(layer(examples=[*VACINA, flagged],
                                   override={"by": "admin@clinica", "reason": "campanha de cardiologia"}))
    assert errors == [] and any("liberação de admin@clinica" in w for w in warnings)
    errors, _ = check(layer(examples=[*VACINA, flagged], red_flag_override={"by": 7, "reason": "campanha"}))
    assert errors == []  # the hub's stored name for the same release
    data = layer()
    data["labelled"] = [{"text": flagged, "intent": "urgent_symptom"}]  # urgent: fine
    assert check(data)[0] == []
    data["labelled"] = [{"text": flagged, "intent": "book_appointment"}]
    assert any("sinal de alerta" in e for e in check(data)[0])


def test_answers_and_buttons() -> None:
    data = layer(answer=None, handoff=None)
    assert any("defina uma resposta" in e for e in check(data)[0])
    data = layer(answer={"text": "ok", "buttons": [{"title": "Ir", "payload": "/nao_existe"}]})
    assert any("'nao_existe', que não existe" in e for e in check(data)[0])
    data = layer()
    data["answers"] = {"utter_goodbye": "Tchau!", "utter_nope": "x", "utter_urgent_emergency": "x",
                       "utter_handoff_closed": "Fechada, volte {amanha}."}
    errors, warnings = check(data)
    assert not any("utter_goodbye" in e for e in errors)
    assert any("'utter_nope': não existe" in e for e in errors)
    assert any("protocolo de urgência" in e for e in errors)
    assert any("{amanha}" in e for e in errors) and any("{when}" in w for w in warnings)


def test_labelled_to_unknown_intent() -> None:
    data = layer()
    data["labelled"] = [{"text": "onde deixo o carro", "intent": "parking_xyz"}]
    assert any("'parking_xyz' não existe" in e for e in check(data)[0])


# --- merge ---------------------------------------------------------------------------------------


def test_merge_builds_a_project_without_touching_bot(tmp_path: Path) -> None:
    data = layer(handoff={"queue": "recepcao", "skill": "vacinas"})
    data["answers"] = {"utter_goodbye": "Até logo, volte sempre!"}
    data["labelled"] = [{"text": "onde deixo o carro", "intent": "clinic_parking"}]
    lay = parse_layer(data)
    before = sorted((p, p.stat().st_mtime_ns) for p in (ROOT / "bot").rglob("*.yml"))
    project = build_project(lay, tmp_path / "p")
    assert sorted((p, p.stat().st_mtime_ns) for p in (ROOT / "bot").rglob("*.yml")) == before
    domain = yaml.safe_load((project / "domain" / "staff.yml").read_text())
    assert domain["intents"] == ["staff_vacina_gripe"]
    assert domain["responses"]["utter_taught_staff_vacina_gripe"][0]["buttons"][0]["payload"] == "/request_human"
    signal = domain["responses"]["utter_taught_staff_vacina_gripe_handoff"][0]["custom"]["atende"]["handoff"]
    assert signal["reason"] == "vacinas" and signal["skills"] == ["vacinas"] and signal["queue"] == "recepcao"
    rules = yaml.safe_load((project / "data" / "rules" / "staff.yml").read_text())["rules"]
    assert rules[0]["steps"] == [{"intent": "staff_vacina_gripe"}, {"action": "utter_taught_staff_vacina_gripe"},
                                 {"action": "utter_taught_staff_vacina_gripe_handoff"}]
    nlu = yaml.safe_load((project / "data" / "nlu" / "staff.yml").read_text())["nlu"]
    assert {i["intent"] for i in nlu} == {"staff_vacina_gripe", "clinic_parking"}
    assert "- onde deixo o carro\n" in next(i for i in nlu if i["intent"] == "clinic_parking")["examples"]
    base = yaml.safe_load((project / "domain" / "base.yml").read_text())
    assert base["responses"]["utter_goodbye"][0]["text"] == "Até logo, volte sempre!"
    reasons = yaml.safe_load((project / "reasons.yml").read_text())
    assert reasons["staff_vacina_gripe"] == "vacinas" and reasons["urgent_symptom"] == "urgent"
    route = yaml.safe_load((project / "data" / "rules" / "input_route.yml").read_text())["rules"]
    every = [step["or"] for rule in route for step in rule["steps"] if "or" in step]
    assert every and all({"intent": "staff_vacina_gripe"} in alternatives for alternatives in every)
    assert all(alternatives.count({"intent": "staff_vacina_gripe"}) == 1 for alternatives in every)
    with pytest.raises(ValueError):
        build_project(lay, ROOT / "bot" / "tmp-never")


def test_rules_without_answer_go_straight_to_the_handoff() -> None:
    lay = parse_layer(layer(answer=None, handoff={"queue": "laudos", "skill": ""}))
    assert staff_rules(lay)["rules"][0]["steps"] == [{"intent": "staff_vacina_gripe"},
                                                      {"action": "utter_taught_staff_vacina_gripe_handoff"}]
    assert "skills" not in staff_domain(lay)["responses"]["utter_taught_staff_vacina_gripe_handoff"][0][
        "custom"]["atende"]["handoff"]


# --- evaluation helpers and gate -----------------------------------------------------------------


def test_cv_folds_k_is_smallest_class_between_2_and_5() -> None:
    data = layer()
    data["labelled"] = [{"text": "onde deixo o carro", "intent": "clinic_parking"},
                        {"text": "tem vaga pra carro", "intent": "clinic_parking"}]
    items = staff_items(parse_layer(data))
    k, buckets = cv_folds(items)
    assert k == 2 and sorted(x for b in buckets for x in b) == sorted(items)
    assert all(any(i == "clinic_parking" for _, i in b) for b in buckets)
    k, _ = cv_folds(staff_items(parse_layer(layer())))
    assert k == 5


def test_per_label_and_gate() -> None:
    table = per_label([("vacinas", "vacinas"), ("vacinas", "other"), ("other", "other")], ["vacinas", "other"])
    assert table["vacinas"]["recall"] == 0.5 and table["other"]["precision"] == 0.5
    row = {"precision": 1.0, "recall": 1.0, "f1": 0.9, "support": 10, "predicted": 10}
    ev: dict[str, Any] = {"suite": {"candidate": {"urgent_recall": 1.0, "missed_emergencies": []}},
          "frozen": {"current": {"per_reason": {"billing": row}},
                     "candidate": {"per_reason": {"billing": dict(row, f1=0.88)}}, "delta_f1": {"billing": -0.02}}}
    assert gate(ev) == {"passed": True, "reasons": []}
    ev["frozen"]["candidate"]["per_reason"]["billing"]["f1"] = 0.87
    ev["frozen"]["delta_f1"]["billing"] = -0.03
    ev["suite"]["candidate"] = {"urgent_recall": 0.97, "missed_emergencies": ["x"]}
    reasons = gate(ev)["reasons"]
    assert len(reasons) == 2 and "'billing' piorou" in reasons[1] and "emergência" in reasons[0]


# --- one real training run -----------------------------------------------------------------------


def test_worker_trains_evaluates_and_gates_on_a_small_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tiny bot (3 intents) + a staff intent: real `rasa train`, CV, side-by-side report, JSON progress."""
    from teaching import worker

    bot = tmp_path / "bot"
    (bot / "domain").mkdir(parents=True)
    (bot / "data" / "nlu").mkdir(parents=True)
    (bot / "data" / "rules").mkdir(parents=True)
    config = yaml.safe_load((ROOT / "bot" / "config.yml").read_text())
    config["pipeline"] = [c for c in config["pipeline"]
                          if c["name"] not in ("CRFEntityExtractor", "EntitySynonymMapper")]
    (bot / "config.yml").write_text(yaml.safe_dump(config))
    (bot / "domain" / "d.yml").write_text(yaml.safe_dump({
        "version": "3.1", "intents": ["greet", "clinic_address", "urgent_symptom", "nlu_fallback"],
        "responses": {"utter_greet": [{"text": "Olá!"}], "utter_address": [{"text": "Rua A, 1"}],
                      "utter_urgent": [{"text": "Ligue 192"}], "utter_default": [{"text": "Não entendi"}]}}))
    (bot / "reasons.yml").write_text(yaml.safe_dump({"greet": "other", "clinic_address": "other",
                                                     "urgent_symptom": "urgent", "nlu_fallback": "other"}))
    examples = {"greet": ["oi", "olá", "bom dia", "boa tarde", "boa noite", "oii tudo bem", "e aí", "ola bom dia"],
                "clinic_address": ["qual o endereço", "onde fica a clínica", "endereço por favor", "como chego aí",
                                   "qual a rua", "fica onde", "me manda a localização", "onde vocês ficam"],
                "urgent_symptom": ["dor no peito forte", "não consigo respirar", "desmaiou", "muito sangramento",
                                   "convulsão agora", "falta de ar forte", "perdeu a consciência", "avc"]}
    (bot / "data" / "nlu" / "nlu.yml").write_text(yaml.safe_dump({"version": "3.1", "nlu": [
        {"intent": i, "examples": "".join(f"- {t}\n" for t in ts)} for i, ts in examples.items()]},
        allow_unicode=True))
    (bot / "data" / "rules" / "r.yml").write_text(yaml.safe_dump({"version": "3.1", "rules": [
        {"rule": "greet", "steps": [{"intent": "greet"}, {"action": "utter_greet"}]},
        {"rule": "address", "steps": [{"intent": "clinic_address"}, {"action": "utter_address"}]}]}))
    evald = tmp_path / "eval"
    evald.mkdir()
    (evald / "frozen.yml").write_text(yaml.safe_dump({"frozen_set": {
        "other": ["bom dia!", "onde fica?", "qual endereço"], "urgent": ["dor forte no peito"]}}, allow_unicode=True))
    (evald / "red_flag_suite.yml").write_text(yaml.safe_dump({"red_flag_suite": {
        "emergencies": [{"text": "dor no peito e falta de ar", "concept": "chest"}],
        "lookalikes": [{"text": "bom dia", "reason": "other", "kind": "greeting"}]}}, allow_unicode=True))

    import teaching.merge as merge
    import teaching.validate as validate

    monkeypatch.setattr(merge, "BOT", bot)
    monkeypatch.setattr(worker, "read_reasons",
                        lambda path=None: yaml.safe_load((path or bot / "reasons.yml").read_text()))
    monkeypatch.setattr(validate.BotData, "from_bot", classmethod(lambda cls: cls(
        [(t, i) for i, ts in examples.items() for t in ts], set(examples) | {"nlu_fallback", "request_human"},
        yaml.safe_load((bot / "reasons.yml").read_text()), {})))
    real_build = merge.build_project
    monkeypatch.setattr(merge, "build_project", lambda lay, out: real_build(lay, out, bot))

    data = layer()
    data["labelled"] = [{"text": "onde é que fica o consultório", "intent": "clinic_address"}]
    path = tmp_path / "layer.json"
    path.write_text(json.dumps(data, ensure_ascii=False))
    lines: list[dict[str, Any]] = []
    out = tmp_path / "out"
    # "current" = the same tiny bot without the layer (trained first, so both are real models)
    worker.quiet()
    current = worker.train_candidate(bot, tmp_path / "current", "current")
    report = worker.run(path, out, current,
                        progress=lambda stage, pct, **kw: lines.append({"stage": stage, "pct": pct}),
                        eval_paths=(evald / "frozen.yml", evald / "red_flag_suite.yml"))

    assert report["status"] == "ready", report["gate"]
    assert Path(report["model"]).exists() and (out / "report.json").exists()
    assert json.loads((out / "report.json").read_text())["status"] == "ready"
    assert [line["stage"] for line in lines][:3] == ["validating", "merging", "training"]
    assert lines[-1] == {"stage": "done", "pct": 100}
    assert all(a["pct"] <= b["pct"] for a, b in itertools.pairwise(lines))
    ev = report["evaluation"]
    assert set(ev["frozen"]) >= {"current", "candidate", "delta_f1"} and ev["frozen"]["candidate"]["n"] == 4
    assert ev["suite"]["candidate"]["emergencies"] == 1
    staff = ev["staff"]
    assert staff["k"] == 2 and staff["n"] == 11
    assert staff["current"]["per_reason"]["vacinas"]["recall"] == 0.0  # the current bot never heard of it
    assert staff["candidate_cv"]["per_reason"]["vacinas"]["recall"] >= 0.8
    assert any(c["intent"] == "staff_vacina_gripe" and c["candidate"] == "staff_vacina_gripe" for c in staff["changes"])
    assert isinstance(report["gate"]["passed"], bool)
    assert {"merge_s", "train_s", "cross_validation_s", "predict_current_s", "predict_candidate_s",
            "total_s"} <= set(report["timings"])
    # the trained candidate answers the staff intent with the staff's text (rules + domain merged)
    import asyncio

    from rasa.core.agent import Agent

    agent = Agent.load(report["model"])
    replies = asyncio.run(agent.handle_text("vocês aplicam vacina de gripe?", sender_id="t"))
    assert replies and replies[0]["text"] == "Vacinação de seg a sex, 8h-17h."
    assert replies[0]["buttons"][0]["payload"] == "/request_human"


def test_worker_refuses_an_invalid_layer_without_training(tmp_path: Path) -> None:
    from teaching import worker

    path = tmp_path / "layer.json"
    path.write_text(json.dumps(layer(examples=VACINA[:2])), encoding="utf-8")
    stages: list[str] = []
    report = worker.run(path, tmp_path / "out", None, progress=lambda stage, pct, **kw: stages.append(stage))
    assert report["status"] == "failed" and report["model"] is None and not report["gate"]["passed"]
    assert report["gate"]["reasons"][0] == "a camada tem erros e não foi treinada"
    assert any("mínimo é 5" in r for r in report["gate"]["reasons"])
    assert stages == ["validating", "done"]
    path.write_text("{not json", encoding="utf-8")
    report = worker.run(path, tmp_path / "out2", None)
    assert report["status"] == "failed" and "JSON" in report["gate"]["reasons"][0]
