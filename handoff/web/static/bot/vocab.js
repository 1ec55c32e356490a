// atende bot teaching page (/bot): vocab — see /bot/bot.js.
// ---------------------------------------------------------------- pt-BR vocabulary
export const REASONS = {
  booking: "Agendamento", confirmation: "Confirmação", exams: "Exames", billing: "Financeiro",
  urgent: "Urgente", human: "Atendente", other: "Outros"
};
export const FLAGS = {
  fallback: "não entendeu", low_confidence: "pouca confiança", reason_corrected: "motivo corrigido",
  asked_for_human: "pediu atendente"
};
export const MODEL_STATUS = {
  queued: "na fila", training: "treinando", evaluating: "avaliando", ready: "pronto", failed: "falhou",
  deployed: "no ar", retired: "aposentado"
};
export const QUEUES = { reception: "Recepção", clinical: "Enfermagem", billing: "Financeiro", exams: "Exames",
  on_call: "Plantão" };
export const STAGES = {
  starting: "iniciando", validating: "validando o que a equipe ensinou", merging: "preparando os dados",
  training: "treinando o modelo", evaluating: "avaliando", done: "concluído"
};
