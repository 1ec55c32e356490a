"""Pure pt-BR language rules shared by the NLU pipeline and the actions (no Rasa imports here
except in `components`): text normalization, red flags, dates, CPF."""
