"""A generated staff layer of ~200 examples and one timed worker run (bot env):

    PYTHONPATH=bot .venv-bot/bin/python -m teaching.bench [--out DIR] [--examples 200]

Prints the worker's progress lines, then one JSON line {"bench": ..., "timings": ..., "gate": ...}.
Issue 11's target: <= 60 s on 2 vCPU for today's data + 200 staff examples.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from teaching.layer import BOT, ROOT

# four topics the bot does not know today; examples are templates x fillers (all distinct)
TOPICS = {
    "staff_vacina_gripe": ("vacinas", ["vacina da gripe", "vacinação contra gripe", "vacina influenza",
                                       "campanha de vacina da gripe", "dose da vacina de gripe"],
                           "A campanha de vacinação contra a gripe vai até 30/06, de segunda a sexta, das 8h às 17h. "
                           "Não precisa agendar.", None),
    "staff_estacionamento_convenio": ("other", ["estacionamento conveniado", "desconto no estacionamento",
                                                "selo do estacionamento", "ticket do estacionamento",
                                                "validar o estacionamento"],
                                      "Validamos o ticket do estacionamento Central na recepção: 2 horas grátis.",
                                      None),
    "staff_teleconsulta": ("booking", ["teleconsulta", "consulta online", "consulta por vídeo",
                                       "atendimento por videochamada", "consulta a distância"],
                           "Temos teleconsulta para retornos. Quer que eu chame a equipe para marcar?",
                           {"queue": "recepcao", "skill": "teleconsulta"}),
    "staff_laudo_pericia": ("laudos", ["laudo para perícia", "relatório médico para o INSS",
                                       "laudo para o trabalho", "atestado para perícia", "relatório para o advogado"],
                            None, {"queue": "laudos", "skill": "laudos"}),
}
TEMPLATES = ["vocês têm {x}?", "queria saber sobre {x}", "como funciona {x} aí", "tem {x} na clínica?",
             "preciso de informação sobre {x}", "oi, {x} ainda tem?", "me explica {x} por favor",
             "gostaria de saber do {x}", "{x}, como faço?", "boa tarde, sobre {x}"]


def generated_layer(examples: int = 200) -> dict[str, Any]:
    per_topic = examples // len(TOPICS)
    intents = []
    for name, (reason, fillers, answer, handoff) in TOPICS.items():
        texts = [t.format(x=f) for f in fillers for t in TEMPLATES][:per_topic]
        intents.append({"name": name, "reason": reason, "examples": texts,
                        "answer": None if answer is None else {"text": answer, "buttons": [
                            {"title": "Falar com atendente", "payload": "/request_human"}]},
                        "handoff": handoff})
    return {"version": 1, "intents": intents,
            "answers": {"utter_goodbye": "Até logo! A Clínica Exemplo agradece o contato 😊"},
            "labelled": [{"text": "onde eu deixo o carro quando for na consulta", "intent": "clinic_parking"},
                         {"text": "quanto fica a consulta com o dermato sem convênio", "intent": "ask_price"},
                         {"text": "quero falar com uma pessoa de verdade", "intent": "request_human"}]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--examples", type=int, default=200)
    ap.add_argument("--current-model", type=Path, default=None)
    ap.add_argument("--parallel", action="store_true", help="pass --parallel to the worker")
    args = ap.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="atende-teach-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    layer = out / "bench-layer.json"
    layer.write_text(json.dumps(generated_layer(args.examples), ensure_ascii=False, indent=2), encoding="utf-8")
    cmd = [sys.executable, "-m", "teaching.worker", "--layer", str(layer), "--out", str(out / "run")]
    if args.parallel:
        cmd.append("--parallel")
    if args.current_model:
        cmd += ["--current-model", str(args.current_model)]
    t = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env={**__import__("os").environ, "PYTHONPATH": str(BOT)},
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    wall = time.monotonic() - t
    sys.stdout.write(proc.stdout)
    report = json.loads((out / "run" / "report.json").read_text(encoding="utf-8"))
    n = sum(len(i["examples"]) for i in generated_layer(args.examples)["intents"]) + 3
    print(json.dumps({"bench": {"staff_examples": n, "wall_s": round(wall, 1), "status": report["status"],
                                "target_s": 60}, "timings": report["timings"], "gate": report["gate"]},
                     ensure_ascii=False))
    return 0 if report["status"] == "ready" else 1


if __name__ == "__main__":
    sys.exit(main())
