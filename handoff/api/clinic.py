"""`/api/clinic`: the clinic API the bot's actions call (docs/CONTRACTS.md, "Clinic API").

Auth: `Authorization: Bearer <token>` with either the service token shared with the action
server (`CLINIC_API_TOKEN`; refused when unset) or a staff login token. Every staff access to
a patient's data is written to the audit log (LGPD); the service token acts for the patient in
their own conversation and is not audited per call. Nothing here logs personal data.

The second-copy boleto PDF and exam report links are capability URLs (an unguessable token per
document) because they are opened by the patient in a browser, without any bearer token.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time
from functools import wraps
from typing import Any

from pydantic import BaseModel, Field, StrictBool, StrictInt
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json, raw

from handoff.api.auth import error, parse_body, reason_of
from handoff.api.clinic_documents import boleto_pdf, report_pdf
from handoff.api.errors import render
from handoff.domain import access
from handoff.domain.clinic.billing import boleto_status, format_brl, linha_digitavel
from handoff.domain.clinic.calendar import (
    CLINIC_TZ,
    closes_at,
    holiday_name,
    hours_text,
    hours_to_json,
    is_open,
    next_opening,
    to_clinic,
)
from handoff.domain.clinic.entities import (
    Appointment,
    Boleto,
    ClinicInfo,
    Consent,
    Doctor,
    Exam,
    ExamResult,
    Insurer,
    PatientRecord,
    Price,
)
from handoff.services import staff
from handoff.services.clinic import ClinicInvalid, ClinicService, OfferedSlot, not_found
from handoff.services.conversions import record_bot_booking

bp = Blueprint("clinic", url_prefix="/api/clinic")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


# -- auth ------------------------------------------------------------------------------------


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


def require_service_or_staff() -> Callable[..., Any]:
    """Decorator: the action server's service token or any staff token; 401 otherwise.

    Sets `request.ctx.staff` to the staff member (None for the service token).
    """

    def decorator(handler: Callable[..., Awaitable[HTTPResponse]]) -> Callable[..., Awaitable[HTTPResponse]]:
        @wraps(handler)
        async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            token = _bearer(request)
            if not token:
                return error(401, "unauthorized", "missing bearer token")
            service_token = request.app.ctx.settings.clinic_api_token
            # Constant-time comparison on bytes (compare_digest rejects non-ASCII str).
            if service_token and hmac.compare_digest(token.encode(), service_token.encode()):
                request.ctx.staff = None
            else:
                who = await staff.identify(request.app.ctx.uow, token)
                if who is None:
                    return error(401, "unauthorized", "invalid token")
                request.ctx.staff = who
            return await handler(request, *args, **kwargs)

        return wrapper

    return decorator


async def _audit(request: Request, action: str, subject: str, patient_id: int | None = None) -> None:
    """LGPD: record that a staff member accessed this subject (never the data itself), whose
    data it is, and the reason when one was given."""
    who = getattr(request.ctx, "staff", None)
    if who is not None:
        await staff.audit(request.app.ctx.uow, who.id, action, subject, patient_id=patient_id,
                          reason=getattr(request.ctx, "access_reason", None))


async def _patient_scope(request: Request, patient_id: int | None, what: str = "patient") -> HTTPResponse | None:
    """Staff reach a patient's record only within their scope (handoff.domain.access): the
    service token and supervisors always; an attendant when they see one of the patient's
    conversations, or with the `all_queues` grant and a `reason`. Otherwise 404, as for an
    unknown patient or appointment (the same body: nothing tells them the record exists)."""
    who = getattr(request.ctx, "staff", None)
    if who is None or patient_id is None:
        return None
    if not access.can(who, "view", "patient_record"):
        return error(403, "forbidden", "your role cannot do this")
    try:
        reason = reason_of(request)
    except access.ReasonError as exc:
        return error(400, "invalid_reason", str(exc))
    request.ctx.access_reason = reason
    runtime = request.app.ctx.runtime
    await runtime.load_handoff()
    resolved = await _clinic(request).directory.resolve_patient(patient_id)
    if await runtime.inbox.can_view_patient(who, resolved if resolved is not None else patient_id):
        return None
    if access.sees_all_queues(who):
        if reason is None:
            return error(403, "reason_required", access.REASON_REQUIRED)
        return None
    return render(not_found(what))


async def _appointment_scope(request: Request, appointment_id: int) -> HTTPResponse | None:
    """`_patient_scope` for the patient who owns an appointment (unknown ones pass: 404 follows)."""
    if getattr(request.ctx, "staff", None) is None:
        return None
    appt = await _clinic(request).directory.appointment(appointment_id)
    if appt is None:
        return None
    return await _patient_scope(request, appt.patient_id, "appointment")


def _clinic(request: Request) -> ClinicService:
    service: ClinicService = request.app.ctx.clinic
    return service


# -- views -----------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return to_clinic(moment).isoformat() if moment is not None else None


def _url(request: Request, path: str) -> str:
    base: str = request.app.ctx.settings.public_base_url
    return base.rstrip("/") + path


def info_view(info: ClinicInfo, now: datetime) -> dict[str, Any]:
    """The `GET /info` body."""
    return {
        "name": info.name,
        "address": info.address,
        "phone": info.phone,
        "whatsapp": info.whatsapp,
        "email": info.email,
        "hours": hours_to_json(info.hours),
        "hours_text": hours_text(info.hours),
        "parking": info.parking,
        "accessibility": info.accessibility,
        "is_open_now": is_open(info.hours, now),
        "next_opening": _iso(next_opening(info.hours, now)),
        "closes_at": _iso(closes_at(info.hours, now)),
        "holiday_today": holiday_name(to_clinic(now).date()),
    }


def doctor_view(d: Doctor) -> dict[str, Any]:
    """A doctor."""
    return {"id": d.id, "name": d.name, "specialty": d.specialty, "specialty_name": d.specialty_name}


def slot_view(o: OfferedSlot) -> dict[str, Any]:
    """A free slot."""
    return {
        "slot_id": o.slot.id, "doctor_id": o.doctor.id, "doctor_name": o.doctor.name,
        "specialty": o.doctor.specialty, "specialty_name": o.doctor.specialty_name,
        "start": _iso(o.slot.start), "end": _iso(o.slot.end),
    }


def consent_view(c: Consent | None) -> dict[str, Any] | None:
    """A consent decision."""
    return {"granted": c.granted, "version": c.version, "at": _iso(c.at)} if c is not None else None


def patient_view(p: PatientRecord) -> dict[str, Any]:
    """A patient (never the CPF or birth date themselves)."""
    return {"id": p.id, "name": p.name, "cpf_known": p.cpf_known, "birth_date_known": p.birth_date_known,
            "consent": consent_view(p.consent)}


def appointment_view(a: Appointment, address: str) -> dict[str, Any]:
    """An appointment."""
    return {
        "id": a.id, "patient_id": a.patient_id, "status": a.status.value, "start": _iso(a.start), "end": _iso(a.end),
        "doctor_id": a.doctor_id, "doctor_name": a.doctor_name, "specialty": a.specialty,
        "specialty_name": a.specialty_name, "address": address,
    }


def exam_view(e: Exam) -> dict[str, Any]:
    """An exam of the catalog."""
    return {
        "slug": e.slug, "name": e.name, "preparation": e.preparation, "fasting_hours": e.fasting_hours,
        "collection_hours": e.collection_hours, "report_how": e.report_how,
        "requires_appointment": e.requires_appointment,
        "note": "Orientações gerais de preparo; siga sempre as instruções do seu médico.",
    }


def result_view(request: Request, r: ExamResult) -> dict[str, Any]:
    """A patient's exam result status."""
    url = _url(request, f"/api/clinic/exam-results/{r.report_token}/laudo.pdf") if r.report_token else None
    return {"exam": r.exam, "exam_name": r.exam_name, "status": r.status, "collected_at": _iso(r.collected_at),
            "ready_at": _iso(r.ready_at), "report_url": url}


def boleto_view(request: Request, b: Boleto, today: date) -> dict[str, Any]:
    """A boleto: `barcode` is the linha digitável (what banking apps accept typed or pasted)."""
    return {
        "id": b.id, "description": b.description, "amount": b.amount_cents / 100,
        "amount_text": format_brl(b.amount_cents), "due_date": b.due_date.isoformat(),
        "status": boleto_status(b.due_date, b.paid_at is not None, today),
        "barcode": linha_digitavel(b.barcode), "barcode_digits": b.barcode, "pix_code": b.pix_code,
        "pdf_url": _url(request, f"/api/clinic/boletos/{b.link_token}/segunda-via.pdf"),
    }


def price_view(p: Price) -> dict[str, Any]:
    """A price."""
    return {"item": p.item, "kind": p.kind, "slug": p.slug, "price": p.amount_cents / 100,
            "price_text": format_brl(p.amount_cents)}


def insurer_view(i: Insurer) -> dict[str, Any]:
    """An accepted insurer."""
    return {"slug": i.slug, "name": i.name, "plans": list(i.plans), "covers_consultations": i.covers_consultations,
            "covers_exams": i.covers_exams, "requires_authorization": i.requires_authorization}


# -- input -----------------------------------------------------------------------------------


class IdentifyBody(BaseModel):
    """`POST /patients/<id>/identify`."""

    cpf: str | None = Field(default=None, max_length=32)
    birth_date: date | None = None
    name: str | None = Field(default=None, max_length=200)


class ConsentBody(BaseModel):
    """`POST /patients/<id>/consent`."""

    granted: StrictBool
    version: str = Field(min_length=1, max_length=64)


class BookBody(BaseModel):
    """`POST /appointments`."""

    patient_id: StrictInt = Field(gt=0)
    slot_id: str = Field(min_length=1, max_length=40)
    # The bot's conversation (its Rasa sender id): the booking is recorded in its timeline. An id
    # that names no conversation of this patient is ignored: it never costs the patient the slot.
    conversation_id: str | None = Field(default=None, max_length=64)


class AppointmentActionBody(BaseModel):
    """Optional body of confirm/cancel: when `patient_id` is given, it must own the appointment."""

    patient_id: StrictInt | None = Field(default=None, gt=0)


class RescheduleBody(BaseModel):
    """`POST /appointments/<id>/reschedule`."""

    slot_id: str = Field(min_length=1, max_length=40)
    patient_id: StrictInt | None = Field(default=None, gt=0)


def _parse_when(raw_value: str | None, name: str) -> datetime | None:
    """ISO 8601 datetime (or date = midnight, clinic zone); naive means clinic wall time."""
    if raw_value is None or raw_value == "":
        return None
    text = raw_value.strip()
    for candidate in (text, text.replace(" ", "+")):  # a "+" offset arrives as a space when not escaped
        try:
            if len(candidate) == 10:
                return datetime.combine(date.fromisoformat(candidate), time(0), tzinfo=CLINIC_TZ)
            return to_clinic(datetime.fromisoformat(candidate))
        except ValueError:
            continue
    raise ClinicInvalid("invalid_query", f"{name} must be an ISO 8601 date or datetime")


def _parse_int(raw_value: str | None, name: str, default: int | None = None) -> int | None:
    if raw_value is None or raw_value == "":
        return default
    if not raw_value.isascii() or not raw_value.isdigit() or len(raw_value) > 12:
        raise ClinicInvalid("invalid_query", f"{name} must be a positive integer")
    return int(raw_value)


def _optional_body(request: Request, model: type[BaseModel]) -> BaseModel | HTTPResponse:
    """Bodies of confirm/cancel are optional: no body means no fields."""
    if not (request.body or b"").strip():
        return model()
    return parse_body(request, model)


# -- clinic ----------------------------------------------------------------------------------


@bp.get("/info")
@require_service_or_staff()
async def get_info(request: Request) -> HTTPResponse:
    """Address, contacts, hours, parking, accessibility, whether it is open now, and the public
    privacy notice's address (the bot sends it when a patient asks how their data is used)."""
    service = _clinic(request)
    view = info_view(await service.info(), service.now())
    view["privacy_notice_url"] = _url(request, "/privacidade/aviso")
    return json(view)


@bp.get("/specialties")
@require_service_or_staff()
async def get_specialties(request: Request) -> HTTPResponse:
    """All specialties."""
    items = await _clinic(request).directory.specialties()
    return json([{"slug": s.slug, "name": s.name} for s in items])


@bp.get("/doctors")
@require_service_or_staff()
async def get_doctors(request: Request) -> HTTPResponse:
    """Doctors, optionally of one specialty (404 on an unknown specialty)."""
    items = await _clinic(request).doctors(request.args.get("specialty") or None)
    return json([doctor_view(d) for d in items])


@bp.get("/slots")
@require_service_or_staff()
async def get_slots(request: Request) -> HTTPResponse:
    """Free slots, soonest first (default window: now .. +30 days; never within the next hour)."""
    args = request.args
    found = await _clinic(request).slots(
        specialty=args.get("specialty") or None,
        doctor_id=_parse_int(args.get("doctor_id"), "doctor_id"),
        start=_parse_when(args.get("start"), "start"),
        end=_parse_when(args.get("end"), "end"),
        limit=_parse_int(args.get("limit"), "limit", 20) or 20,
    )
    return json([slot_view(o) for o in found])


# -- patients --------------------------------------------------------------------------------


@bp.get("/patients/<patient_id:int>")
@require_service_or_staff()
async def get_patient(request: Request, patient_id: int) -> HTTPResponse:
    """What the clinic knows about the patient (flags only, never the CPF)."""
    if (refused := await _patient_scope(request, patient_id)) is not None:
        return refused
    record = await _clinic(request).patient(patient_id)
    await _audit(request, "clinic.patient.read", f"patient:{record.id}", record.id)
    return json(patient_view(record))


@bp.post("/patients/<patient_id:int>/identify")
@require_service_or_staff()
async def post_identify(request: Request, patient_id: int) -> HTTPResponse:
    """Attach CPF / birth date / name; links to the clinic record holding that CPF.

    409 `birth_date_required` when that record needs the birth date to confirm the link,
    409 `identity_mismatch` when CPF and birth date do not match, 400 `invalid_cpf`.
    """
    if (refused := await _patient_scope(request, patient_id)) is not None:
        return refused
    body = parse_body(request, IdentifyBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, IdentifyBody)
    record = await _clinic(request).identify(patient_id, body.cpf, body.birth_date, body.name)
    await _audit(request, "clinic.patient.identify", f"patient:{record.id}", record.id)
    return json(patient_view(record))


@bp.post("/patients/<patient_id:int>/consent")
@require_service_or_staff()
async def post_consent(request: Request, patient_id: int) -> HTTPResponse:
    """Store the patient's consent decision (notice version + time; append-only)."""
    if (refused := await _patient_scope(request, patient_id)) is not None:
        return refused
    body = parse_body(request, ConsentBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, ConsentBody)
    consent = await _clinic(request).record_consent(patient_id, body.granted, body.version)
    await _audit(request, "clinic.patient.consent", f"patient:{patient_id}", patient_id)
    return json(consent_view(consent), status=201)


@bp.get("/patients/<patient_id:int>/appointments")
@require_service_or_staff()
async def get_patient_appointments(request: Request, patient_id: int) -> HTTPResponse:
    """The patient's appointments: `scope=upcoming` (default) or `all`."""
    if (refused := await _patient_scope(request, patient_id)) is not None:
        return refused
    service = _clinic(request)
    items = await service.appointments(patient_id, request.args.get("scope") or "upcoming")
    address = (await service.info()).address
    await _audit(request, "clinic.appointments.read", f"patient:{patient_id}", patient_id)
    return json([appointment_view(a, address) for a in items])


@bp.get("/patients/<patient_id:int>/exam-results")
@require_service_or_staff()
async def get_exam_results(request: Request, patient_id: int) -> HTTPResponse:
    """Status of the patient's exams with the report link when ready."""
    if (refused := await _patient_scope(request, patient_id)) is not None:
        return refused
    items = await _clinic(request).exam_results(patient_id)
    await _audit(request, "clinic.exam_results.read", f"patient:{patient_id}", patient_id)
    return json([result_view(request, r) for r in items])


@bp.get("/patients/<patient_id:int>/boletos")
@require_service_or_staff()
async def get_boletos(request: Request, patient_id: int) -> HTTPResponse:
    """The patient's boletos (linha digitável, Pix copia-e-cola, second-copy PDF link)."""
    if (refused := await _patient_scope(request, patient_id)) is not None:
        return refused
    service = _clinic(request)
    items = await service.boletos(patient_id)
    await _audit(request, "clinic.boletos.read", f"patient:{patient_id}", patient_id)
    today = service.now().date()
    return json([boleto_view(request, b, today) for b in items])


# -- appointments ----------------------------------------------------------------------------


async def _appointment_response(request: Request, appt: Appointment, status: int = 200) -> HTTPResponse:
    address = (await _clinic(request).info()).address
    return json(appointment_view(appt, address), status=status)


@bp.post("/appointments")
@require_service_or_staff()
async def post_appointment(request: Request) -> HTTPResponse:
    """Book a free slot (409 `slot_taken` when someone else got it first)."""
    body = parse_body(request, BookBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, BookBody)
    if (refused := await _patient_scope(request, body.patient_id)) is not None:
        return refused
    appt = await _clinic(request).book(body.patient_id, body.slot_id)
    await _audit(request, "clinic.appointment.book", f"appointment:{appt.id}", appt.patient_id)
    if body.conversation_id:
        await record_bot_booking(request.app.ctx.uow, body.conversation_id, body.patient_id, appt.id)
    return await _appointment_response(request, appt, status=201)


async def _appointment_action(request: Request, appointment_id: int, action: str) -> HTTPResponse:
    """Confirm or cancel; the optional body names the patient who must own the appointment."""
    body = _optional_body(request, AppointmentActionBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, AppointmentActionBody)
    if (refused := await _appointment_scope(request, appointment_id)) is not None:
        return refused
    service = _clinic(request)
    change = service.confirm if action == "confirm" else service.cancel
    appt = await change(appointment_id, body.patient_id)
    await _audit(request, f"clinic.appointment.{action}", f"appointment:{appt.id}", appt.patient_id)
    return await _appointment_response(request, appt)


@bp.post("/appointments/<appointment_id:int>/confirm")
@require_service_or_staff()
async def post_confirm(request: Request, appointment_id: int) -> HTTPResponse:
    """Confirm attendance (idempotent)."""
    return await _appointment_action(request, appointment_id, "confirm")


@bp.post("/appointments/<appointment_id:int>/cancel")
@require_service_or_staff()
async def post_cancel(request: Request, appointment_id: int) -> HTTPResponse:
    """Cancel before the start time (idempotent); frees the slot."""
    return await _appointment_action(request, appointment_id, "cancel")


@bp.post("/appointments/<appointment_id:int>/reschedule")
@require_service_or_staff()
async def post_reschedule(request: Request, appointment_id: int) -> HTTPResponse:
    """Move to another free slot of the same specialty (needs a new confirmation)."""
    body = parse_body(request, RescheduleBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, RescheduleBody)
    if (refused := await _appointment_scope(request, appointment_id)) is not None:
        return refused
    appt = await _clinic(request).reschedule(appointment_id, body.slot_id, body.patient_id)
    await _audit(request, "clinic.appointment.reschedule", f"appointment:{appt.id}", appt.patient_id)
    return await _appointment_response(request, appt)


# -- exams, prices, insurers -----------------------------------------------------------------


@bp.get("/exams")
@require_service_or_staff()
async def get_exams(request: Request) -> HTTPResponse:
    """The exam catalog with preparation instructions."""
    return json([exam_view(e) for e in await _clinic(request).directory.exams()])


@bp.get("/exams/<slug:str>")
@require_service_or_staff()
async def get_exam(request: Request, slug: str) -> HTTPResponse:
    """One exam (404 when unknown)."""
    return json(exam_view(await _clinic(request).exam(slug)))


@bp.get("/prices")
@require_service_or_staff()
async def get_prices(request: Request) -> HTTPResponse:
    """Private prices, optionally of one specialty's consultation and/or one exam."""
    items = await _clinic(request).directory.prices(
        request.args.get("specialty") or None, request.args.get("exam") or None
    )
    return json([price_view(p) for p in items])


@bp.get("/insurers")
@require_service_or_staff()
async def get_insurers(request: Request) -> HTTPResponse:
    """Accepted insurers, their plans and coverage."""
    return json([insurer_view(i) for i in await _clinic(request).directory.insurers()])


# -- documents (capability links opened by the patient's browser) -----------------------------

_PDF_HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def _pdf(body: bytes, filename: str) -> HTTPResponse:
    headers = {**_PDF_HEADERS, "Content-Disposition": f'inline; filename="{filename}"'}
    return raw(body, content_type="application/pdf", headers=headers)


@bp.get("/boletos/<token:str>/segunda-via.pdf")
async def get_boleto_pdf(request: Request, token: str) -> HTTPResponse:
    """Second copy of a boleto as a PDF (the link itself is the credential)."""
    service = _clinic(request)
    found = await service.directory.boleto_by_token(token) if _TOKEN.match(token) else None
    if found is None:
        return error(404, "boleto_not_found", "boleto not found")
    boleto, payer = found
    demo = bool(request.app.ctx.settings.seed_demo_clinic)
    body = boleto_pdf(await service.info(), boleto, payer, service.now().date(), demo)
    return _pdf(body, f"boleto-{boleto.id}.pdf")


@bp.get("/exam-results/<token:str>/laudo.pdf")
async def get_report_pdf(request: Request, token: str) -> HTTPResponse:
    """A ready exam report as a PDF (the link itself is the credential)."""
    service = _clinic(request)
    found = await service.directory.exam_result_by_token(token) if _TOKEN.match(token) else None
    if found is None:
        return error(404, "report_not_found", "report not found")
    result, patient = found
    demo = bool(request.app.ctx.settings.seed_demo_clinic)
    return _pdf(report_pdf(await service.info(), result, patient, demo), f"laudo-{result.exam}.pdf")
