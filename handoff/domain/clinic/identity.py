"""Who is this patient? Rules for linking a channel patient to a clinic record by CPF.

A CPF alone is weak proof in Brazil (it is printed on receipts and leaks often), so a record
that already has a birth date on file is only linked when the birth date matches too; a
mismatch is refused without saying which half was wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class IdentityAction(StrEnum):
    """What the store must do with an identification request."""

    UPDATE_OWN = "update_own"  # store CPF/birth date/name on the channel patient's own record
    LINK = "link"  # point the channel patient at the existing record with this CPF


class IdentityError(Exception):
    """An identification the rules refuse; `code` is the API error code (HTTP 409)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class KnownPerson:
    """What the store knows about a record: its CPF and birth date (either may be missing)."""

    cpf: str | None
    birth_date: date | None


def decide_identity(
    own: KnownPerson, given_cpf: str | None, given_birth: date | None, holder: KnownPerson | None
) -> IdentityAction:
    """Decide how to apply `identify` for a patient whose record is `own`.

    `holder` is another record already holding `given_cpf` (None when nobody else has it).
    Raises IdentityError: `cpf_mismatch` (this patient already has another CPF),
    `birth_date_required` (the record with this CPF needs the birth date to be confirmed),
    `identity_mismatch` (CPF and birth date do not belong together).
    """
    if given_cpf is not None and own.cpf is not None and own.cpf != given_cpf:
        raise IdentityError("cpf_mismatch", "este cadastro já tem outro CPF; fale com a recepção para corrigir")
    if given_cpf is not None and holder is not None:
        if holder.birth_date is not None:
            birth = given_birth or own.birth_date
            if birth is None:
                raise IdentityError("birth_date_required", "informe também a data de nascimento para confirmar")
            if birth != holder.birth_date:
                raise IdentityError("identity_mismatch", "os dados informados não conferem com o cadastro")
        return IdentityAction.LINK
    if given_birth is not None and own.birth_date is not None and own.birth_date != given_birth:
        # Changing a birth date already on file is a record correction, done by staff in person.
        raise IdentityError("identity_mismatch", "os dados informados não conferem com o cadastro")
    return IdentityAction.UPDATE_OWN
