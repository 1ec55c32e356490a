"""The seeded demo clinic ("Clínica Exemplo"): realistic data so every bot flow has something real.

Seeding is idempotent and safe with several hub replicas starting at once: it runs in one
transaction that first inserts the clinic profile with a fixed primary key, so a second
seeder hits the key, rolls back and leaves the first one's data alone. Appointments, exam
results and boletos of the demo patients are placed relative to the seeding time, so a fresh
database always has upcoming appointments to confirm, cancel or move.

Preparation texts are the standard instructions laboratories hand out (not medical advice);
the bot shows them as given and tells patients to follow their own doctor's orders.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.sql.database import Database
from handoff.adapters.sql.models import (
    AppointmentRow,
    BoletoRow,
    ClinicProfile,
    DoctorRow,
    DoctorScheduleRow,
    ExamResultRow,
    ExamRow,
    InsurerRow,
    Patient,
    PriceRow,
    SpecialtyRow,
)
from handoff.domain.clinic.billing import boleto_barcode, mod10, pix_copia_e_cola
from handoff.domain.clinic.calendar import hours_from_json, to_clinic
from handoff.domain.clinic.cpf import cpf_check_digits
from handoff.domain.clinic.slots import DoctorSchedule, Slot, day_slots, free_slots

CLINIC_NAME = "Clínica Exemplo"
HOURS_JSON: list[dict[str, object]] = [
    *({"weekday": wd, "intervals": [["08:00", "12:00"], ["13:00", "18:00"]]} for wd in range(5)),
    {"weekday": 5, "intervals": [["08:00", "12:00"]]},
    {"weekday": 6, "intervals": []},
]
PROFILE = {
    "name": CLINIC_NAME,
    "address": "Rua Domingos de Morais, 2187, conjunto 12 — Vila Mariana, São Paulo — SP, CEP 04035-000",
    "phone": "(11) 3456-7800",
    "whatsapp": "(11) 98765-4321",
    "email": "contato@clinica.example",
    "parking": (
        "Estacionamento conveniado no próprio edifício, com manobrista: R$ 18,00 por até 2 horas "
        "(apresente o tíquete na recepção). Há vagas reservadas para pessoas com deficiência e idosos. "
        "A clínica fica a 300 m da estação Santa Cruz do metrô (Linhas 1-Azul e 5-Lilás)."
    ),
    "accessibility": (
        "Entrada no nível da calçada, sem degraus; elevadores com sinalização em braile; banheiros adaptados "
        "em todos os andares; cadeira de rodas disponível na recepção; atendimento prioritário para idosos, "
        "gestantes, pessoas com deficiência e com crianças de colo. Se precisar de intérprete de Libras, "
        "avise ao agendar."
    ),
}

SPECIALTIES = {
    "cardiologia": "Cardiologia",
    "clinica_geral": "Clínica Geral",
    "dermatologia": "Dermatologia",
    "endocrinologia": "Endocrinologia",
    "ginecologia": "Ginecologia e Obstetrícia",
    "oftalmologia": "Oftalmologia",
    "ortopedia": "Ortopedia e Traumatologia",
    "pediatria": "Pediatria",
}

MON, TUE, WED, THU, FRI, SAT = range(6)
WEEK = (MON, TUE, WED, THU, FRI)
FULL_DAY = (time(8), time(18))  # the clinic's lunch break (12h-13h) is cut out by the slot rules
MORNING = (time(8), time(12))
AFTERNOON = (time(13), time(18))


@dataclass(frozen=True)
class DemoDoctor:
    """A seeded doctor: specialty and weekly blocks (weekdays, (start, end), slot minutes)."""

    name: str
    specialty: str
    blocks: tuple[tuple[tuple[int, ...], tuple[time, time], int], ...]


DOCTORS = (
    DemoDoctor("Dr. Ricardo Almeida", "cardiologia", (((MON, WED, FRI), FULL_DAY, 30),)),
    DemoDoctor("Dra. Fernanda Costa", "cardiologia", (((TUE, THU), FULL_DAY, 30), ((SAT,), MORNING, 30))),
    DemoDoctor("Dra. Juliana Martins", "dermatologia", (((MON, TUE, THU), MORNING, 20),)),
    DemoDoctor("Dr. Paulo Henrique Souza", "dermatologia", (((WED, FRI), AFTERNOON, 20), ((SAT,), MORNING, 20))),
    DemoDoctor("Dra. Camila Rocha", "pediatria", ((WEEK, MORNING, 30),)),
    DemoDoctor("Dr. André Lima", "pediatria", ((WEEK, AFTERNOON, 30), ((SAT,), MORNING, 30))),
    DemoDoctor("Dra. Beatriz Nogueira", "ginecologia", (((MON, WED), FULL_DAY, 40),)),
    DemoDoctor("Dra. Larissa Oliveira", "ginecologia", (((TUE, THU, FRI), AFTERNOON, 40),)),
    DemoDoctor("Dr. Marcelo Teixeira", "ortopedia", (((MON, TUE, THU), FULL_DAY, 30),)),
    DemoDoctor("Dr. Roberto Carvalho", "clinica_geral", ((WEEK, FULL_DAY, 20),)),
    DemoDoctor("Dra. Patrícia Gomes", "clinica_geral", ((WEEK, MORNING, 20), ((SAT,), MORNING, 20))),
    DemoDoctor("Dr. Eduardo Barbosa", "oftalmologia", (((TUE, WED, FRI), FULL_DAY, 30),)),
    DemoDoctor("Dra. Renata Pires", "endocrinologia", (((MON, THU), FULL_DAY, 40), ((WED,), AFTERNOON, 40))),
)

_LAB_HOURS = "Coleta por ordem de chegada: segunda a sexta, das 8h às 11h; sábado, das 8h às 10h."
_LAB_REPORT = (
    "O resultado fica pronto em até 2 dias úteis. Você recebe o link do laudo aqui no chat, "
    "ou pode retirá-lo na recepção com um documento com foto."
)
_IMAGING_REPORT = (
    "O laudo fica pronto em até 3 dias úteis. Você recebe o link aqui no chat, ou pode retirá-lo "
    "(com as imagens) na recepção com um documento com foto."
)
_BY_APPOINTMENT = "Com hora marcada: segunda a sexta, das 8h às 12h e das 13h às 17h; sábado, das 8h às 11h."

# slug, name, preparation, fasting hours, collection hours, how to get the report, needs appointment
EXAMS: tuple[tuple[str, str, str, int, str, str, bool], ...] = (
    ("hemograma", "Hemograma completo",
     "Não é necessário jejum. Evite exercícios físicos intensos nas 24 horas anteriores e bebidas alcoólicas "
     "nas 24 horas anteriores à coleta. Informe os medicamentos que você usa.",
     0, _LAB_HOURS, "O resultado fica pronto em 1 dia útil. " + _LAB_REPORT.split(". ", 1)[1], False),
    ("glicemia", "Glicemia de jejum",
     "Jejum de 8 horas (não ultrapasse 12 horas). Água é permitida. Mantenha sua alimentação habitual nos dias "
     "anteriores, não fume e não faça exercícios antes da coleta. Tome seus medicamentos de uso contínuo "
     "conforme a orientação do seu médico.",
     8, _LAB_HOURS, _LAB_REPORT, False),
    ("colesterol", "Colesterol total e frações (lipidograma) e triglicerídeos",
     "Jejum de 12 horas. Água é permitida. Evite bebidas alcoólicas nas 72 horas anteriores e exercícios "
     "intensos nas 24 horas anteriores. Mantenha sua alimentação habitual na semana do exame.",
     12, _LAB_HOURS, _LAB_REPORT, False),
    ("tsh", "TSH (hormônio tireoestimulante)",
     "Não é necessário jejum. Se você toma hormônio de tireoide (levotiroxina), siga a orientação do seu médico "
     "sobre o horário do remédio no dia da coleta. Avise se usa suplementos com biotina, que podem alterar o "
     "resultado.",
     0, _LAB_HOURS, _LAB_REPORT, False),
    ("urina", "Urina tipo 1 (EAS)",
     "Colete, de preferência, a primeira urina da manhã (ou com pelo menos 2 horas sem urinar). Lave bem a região "
     "íntima com água e sabão, despreze o primeiro jato e colete o jato médio no frasco estéril fornecido pela "
     "clínica. Entregue a amostra em até 1 hora. Mulheres: não colete durante a menstruação.",
     0, "Entrega da amostra: segunda a sexta, das 8h às 11h; sábado, das 8h às 10h.", _LAB_REPORT, False),
    ("ultrassom_abdominal", "Ultrassonografia de abdome total",
     "Jejum de 8 horas. Na véspera, faça um jantar leve e evite alimentos que causam gases (feijão, repolho, "
     "refrigerantes, leite). Água é permitida até 2 horas antes. Traga exames anteriores.",
     8, _BY_APPOINTMENT, _IMAGING_REPORT, True),
    ("ultrassom_pelvico", "Ultrassonografia pélvica (via abdominal)",
     "Bexiga cheia: beba de 4 a 6 copos de água (cerca de 1 litro) 1 hora antes do exame e não urine até a "
     "realização. Não é necessário jejum.",
     0, _BY_APPOINTMENT, _IMAGING_REPORT, True),
    ("raio_x", "Raio-X (radiografia)",
     "Não é necessário preparo nem jejum. Retire brincos, colares e objetos de metal da região examinada. "
     "Avise a equipe se houver possibilidade de gravidez.",
     0, "Por ordem de chegada: segunda a sexta, das 8h às 17h; sábado, das 8h às 11h.", _IMAGING_REPORT, False),
    ("eletrocardiograma", "Eletrocardiograma (ECG)",
     "Não é necessário jejum. No dia, não passe cremes ou óleos no tórax e use roupas fáceis de tirar da cintura "
     "para cima. Chegue 15 minutos antes.",
     0, _BY_APPOINTMENT, "O laudo fica pronto em até 1 dia útil. " + _LAB_REPORT.split(". ", 1)[1], True),
    ("ecocardiograma", "Ecocardiograma transtorácico",
     "Não é necessário jejum nem preparo. Use roupas confortáveis e traga exames cardiológicos anteriores.",
     0, _BY_APPOINTMENT, _IMAGING_REPORT, True),
    ("mamografia", "Mamografia bilateral",
     "No dia do exame, não use desodorante, talco, cremes ou perfume nas axilas e nas mamas. Prefira agendar "
     "fora do período pré-menstrual, quando as mamas estão menos sensíveis. Traga mamografias anteriores.",
     0, _BY_APPOINTMENT, _IMAGING_REPORT, True),
)

CONSULTATION_PRICES = {
    "cardiologia": 35000, "clinica_geral": 25000, "dermatologia": 32000, "endocrinologia": 36000,
    "ginecologia": 33000, "oftalmologia": 30000, "ortopedia": 34000, "pediatria": 30000,
}
EXAM_PRICES = {
    "hemograma": 3500, "glicemia": 2000, "colesterol": 6000, "tsh": 4500, "urina": 2500,
    "ultrassom_abdominal": 22000, "ultrassom_pelvico": 20000, "raio_x": 12000, "eletrocardiograma": 9000,
    "ecocardiograma": 38000, "mamografia": 18000,
}

# slug, name, plans, covers consultations, covers exams, requires prior authorization
INSURERS: tuple[tuple[str, str, list[str], bool, bool, bool], ...] = (
    ("amil", "Amil", ["Amil 400", "Amil 500", "Amil 700", "Amil One S1500"], True, True, True),
    ("bradesco_saude", "Bradesco Saúde", ["Efetivo", "Nacional Flex", "Top Nacional"], True, True, True),
    ("hapvida", "Hapvida", ["Nosso Plano", "Pleno"], True, False, True),
    ("porto_seguro", "Porto Seguro Saúde", ["Bronze", "Prata", "Ouro"], True, True, False),
    ("sulamerica", "SulAmérica Saúde", ["Clássico", "Especial 100", "Executivo", "Prestige"], True, True, False),
    ("unimed", "Unimed", ["Unimed Nacional", "Estilo", "Clássico"], True, True, True),
)


def demo_cpf(base9: str) -> str:
    """A CPF with correct check digits for a fictitious 9-digit base."""
    return base9 + cpf_check_digits(base9)


@dataclass(frozen=True)
class DemoPatient:
    """A demo patient the web chat can identify as (CPF + birth date)."""

    key: str
    name: str
    cpf: str
    birth_date: date
    phone: str


DEMO_PATIENTS = (
    DemoPatient("maria", "Maria Aparecida dos Santos", demo_cpf("529982247"), date(1968, 3, 14), "+5511987650001"),
    DemoPatient("joao", "João Pedro Ferreira", demo_cpf("111444777"), date(1985, 9, 2), "+5511987650002"),
    DemoPatient("ana", "Ana Clara Souza", demo_cpf("390533447"), date(1992, 11, 25), "+5511987650003"),
)

_PIX_KEY = str(uuid.uuid5(uuid.NAMESPACE_DNS, "pix.clinica.example"))  # fictitious EVP key
_BANK = "341"
_AGENCY, _ACCOUNT = "0057", "12345"


def _itau_free_field(nosso_numero: int) -> str:
    """Free field of a carteira-109 bank slip: carteira, nosso número, DACs, agency and account."""
    carteira, nn = "109", f"{nosso_numero:08d}"
    dac_nn = mod10(_AGENCY + _ACCOUNT + carteira + nn)
    dac_account = mod10(_AGENCY + _ACCOUNT)
    return f"{carteira}{nn}{dac_nn}{_AGENCY}{_ACCOUNT}{dac_account}000"


def demo_boleto_codes(nosso_numero: int, amount_cents: int, due: date) -> tuple[str, str]:
    """(44-digit barcode, Pix copia-e-cola) of a demo boleto."""
    barcode = boleto_barcode(_BANK, amount_cents, due, _itau_free_field(nosso_numero))
    pix = pix_copia_e_cola(_PIX_KEY, amount_cents, "CLINICA EXEMPLO", "SAO PAULO", f"BOL{nosso_numero:08d}")
    return barcode, pix


def _future_slot(schedules: list[DoctorSchedule], now: datetime, skip: int, taken: set[tuple[int, datetime]]) -> Slot:
    hours = hours_from_json(HOURS_JSON)
    start = to_clinic(now) + timedelta(days=2)
    busy: dict[int, list[tuple[datetime, datetime]]] = {}
    for doctor_id, s in taken:
        busy.setdefault(doctor_id, []).append((s, s + timedelta(minutes=1)))
    slots = free_slots(schedules, hours, busy, start, start + timedelta(days=30), now, limit=skip + 1)
    return slots[min(skip, len(slots) - 1)]


def _past_slot(schedules: list[DoctorSchedule], now: datetime, days_ago: int) -> Slot:
    hours = hours_from_json(HOURS_JSON)
    day = to_clinic(now).date() - timedelta(days=days_ago)
    for _ in range(30):
        slots = day_slots(schedules, hours, day)
        if slots:
            return slots[len(slots) // 2]
        day -= timedelta(days=1)
    raise RuntimeError("no past slot for the demo data")


def _token() -> str:
    return secrets.token_urlsafe(24)


async def seed_demo_clinic(db: Database, now: datetime | None = None) -> bool:
    """Create the demo clinic if no clinic exists yet. Returns True when it seeded."""
    now = now or datetime.now(UTC)
    async with db.session() as s:
        if (await s.execute(select(ClinicProfile.id).limit(1))).first() is not None:
            return False
    try:
        async with db.session() as s:
            s.add(ClinicProfile(id=1, hours=HOURS_JSON, created_at=now, **PROFILE))
            await s.flush()  # a concurrent seeder fails here on the primary key and backs off
            await _seed_catalog_and_demo(s, now)
    except IntegrityError:
        return False
    return True


async def _seed_catalog_and_demo(s: AsyncSession, now: datetime) -> None:
    spec_ids: dict[str, int] = {}
    for slug, name in SPECIALTIES.items():
        row = SpecialtyRow(slug=slug, name=name)
        s.add(row)
        await s.flush()
        spec_ids[slug] = row.id
    schedules: dict[str, list[DoctorSchedule]] = {}
    doctor_ids: dict[str, int] = {}
    for doc in DOCTORS:
        drow = DoctorRow(name=doc.name, specialty_id=spec_ids[doc.specialty], active=True)
        s.add(drow)
        await s.flush()
        doctor_ids[doc.name] = drow.id
        rows = schedules.setdefault(doc.name, [])
        for weekdays, (start, end), minutes in doc.blocks:
            for wd in weekdays:
                s.add(DoctorScheduleRow(doctor_id=drow.id, weekday=wd, start_time=start, end_time=end,
                                        slot_minutes=minutes))
                rows.append(DoctorSchedule(drow.id, wd, start, end, minutes))
    exam_ids: dict[str, int] = {}
    for slug, name, prep, fasting, collection, report, by_appt in EXAMS:
        erow = ExamRow(slug=slug, name=name, preparation=prep, fasting_hours=fasting, collection_hours=collection,
                       report_how=report, requires_appointment=by_appt)
        s.add(erow)
        await s.flush()
        exam_ids[slug] = erow.id
    for slug, cents in CONSULTATION_PRICES.items():
        s.add(PriceRow(kind="consultation", slug=slug, item=f"Consulta de {SPECIALTIES[slug]}", amount_cents=cents))
    exam_names = {e[0]: e[1] for e in EXAMS}
    for slug, cents in EXAM_PRICES.items():
        s.add(PriceRow(kind="exam", slug=slug, item=exam_names[slug], amount_cents=cents))
    for slug, name, plans, consult, exams, auth in INSURERS:
        s.add(InsurerRow(slug=slug, name=name, plans=plans, covers_consultations=consult, covers_exams=exams,
                         requires_authorization=auth))
    await _seed_demo_patients(s, now, schedules, exam_ids)


async def _seed_demo_patients(
    s: AsyncSession, now: datetime, schedules: dict[str, list[DoctorSchedule]], exam_ids: dict[str, int]
) -> None:
    pids: dict[str, int] = {}
    for p in DEMO_PATIENTS:
        if (await s.execute(select(Patient.id).where(Patient.cpf == p.cpf))).first() is not None:
            continue  # someone already holds this CPF: never touch real records
        row = Patient(display_name=p.name, phone=p.phone, cpf=p.cpf, birth_date=p.birth_date, created_at=now)
        s.add(row)
        await s.flush()
        pids[p.key] = row.id
    taken: set[tuple[int, datetime]] = set()

    def appt(pid: int, slot: Slot, status: str) -> AppointmentRow:
        taken.add((slot.doctor_id, slot.start))
        return AppointmentRow(patient_id=pid, doctor_id=slot.doctor_id, starts_at=slot.start.astimezone(UTC),
                              ends_at=slot.end.astimezone(UTC), status=status, created_at=now, updated_at=now)

    local_today = to_clinic(now).date()
    nosso = 24_000_100  # "nosso número" sequence of the demo boletos

    def boleto(pid: int, description: str, cents: int, due: date, paid: bool) -> BoletoRow:
        nonlocal nosso
        nosso += 1
        barcode, pix = demo_boleto_codes(nosso, cents, due)
        paid_at = datetime.combine(due - timedelta(days=2), time(15), tzinfo=UTC) if paid else None
        return BoletoRow(patient_id=pid, description=description, amount_cents=cents, due_date=due, paid_at=paid_at,
                         barcode=barcode, pix_code=pix, link_token=_token(), created_at=now)

    def result(pid: int, exam: str, days_ago: int, status: str) -> ExamResultRow:
        collected = now - timedelta(days=days_ago, hours=3)
        ready = collected + timedelta(days=1) if status == "ready" else None
        return ExamResultRow(patient_id=pid, exam_id=exam_ids[exam], status=status, collected_at=collected,
                             ready_at=ready, report_token=_token() if status == "ready" else None)

    if "maria" in pids:
        pid = pids["maria"]
        s.add(appt(pid, _future_slot(schedules["Dr. Ricardo Almeida"], now, 2, taken), "scheduled"))
        s.add(appt(pid, _past_slot(schedules["Dr. Roberto Carvalho"], now, 20), "done"))
        s.add(appt(pid, _past_slot(schedules["Dra. Renata Pires"], now, 45), "cancelled"))
        s.add(result(pid, "glicemia", 5, "ready"))
        s.add(result(pid, "colesterol", 5, "ready"))
        s.add(result(pid, "hemograma", 1, "processing"))
        s.add(boleto(pid, "Consulta particular — Cardiologia", CONSULTATION_PRICES["cardiologia"],
                     local_today + timedelta(days=10), paid=False))
        s.add(boleto(pid, "Exames laboratoriais (glicemia, lipidograma, hemograma)",
                     EXAM_PRICES["glicemia"] + EXAM_PRICES["colesterol"] + EXAM_PRICES["hemograma"],
                     local_today - timedelta(days=15), paid=False))
    if "joao" in pids:
        pid = pids["joao"]
        s.add(appt(pid, _future_slot(schedules["Dra. Juliana Martins"], now, 1, taken), "confirmed"))
        s.add(result(pid, "tsh", 0, "collected"))
        s.add(result(pid, "ultrassom_abdominal", 7, "ready"))
        s.add(boleto(pid, "Ultrassonografia de abdome total", EXAM_PRICES["ultrassom_abdominal"],
                     local_today - timedelta(days=30), paid=True))
    if "ana" in pids:
        pid = pids["ana"]
        s.add(appt(pid, _future_slot(schedules["Dra. Beatriz Nogueira"], now, 3, taken), "scheduled"))
        s.add(result(pid, "urina", 2, "processing"))
        s.add(boleto(pid, "Ultrassonografia pélvica", EXAM_PRICES["ultrassom_pelvico"],
                     local_today + timedelta(days=5), paid=False))
