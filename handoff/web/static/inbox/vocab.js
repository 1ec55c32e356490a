// atende inbox (/inbox): vocab — see /inbox/inbox.js.
import { MAX_TEXT } from "./state.js";

// ---------------------------------------------------------------- pt-BR vocabulary
export const REASONS = {
  booking: "Agendamento", confirmation: "Confirmação", exams: "Exames", billing: "Financeiro",
  urgent: "Urgente", human: "Atendente", other: "Outros"
};
export const PRIORITIES = { urgent: "Urgente", high: "Alta", normal: "Normal", low: "Baixa" };
export const CHANNELS = {
  webchat: "Site", whatsapp: "WhatsApp", sms: "SMS", email: "E-mail", instagram: "Instagram",
  messenger: "Messenger", voice: "Telefone", telegram: "Telegram"
};
export const QUEUES = { reception: "Recepção", clinical: "Enfermagem", billing: "Financeiro", exams: "Exames",
  on_call: "Plantão" };
export const STATES = { bot: "Com o bot", queued: "Na fila", assigned: "Em atendimento",
  waiting_patient: "Aguardando paciente", resolved: "Resolvida" };
export const OUTCOMES = { resolved: "Resolvido", booked: "Agendado", not_resolved: "Não resolvido" };
export const HANDOFF_REASONS = {
  urgent: "Sinais de urgência", human: "O paciente pediu um atendente", complain: "Reclamação",
  misunderstood: "O bot não entendeu o paciente", consent_refused: "Recusou o aviso de privacidade",
  out_of_scope: "Assunto fora do escopo do bot", out_of_hours: "Fora do horário de atendimento",
  bot_unavailable: "Bot indisponível"
};
export const INTENTS = {
  book_appointment: "Marcar consulta", reschedule_appointment: "Remarcar consulta",
  ask_availability: "Consultar horários", symptom_consult: "Sintoma (quer ser atendido)",
  confirm_appointment: "Confirmar consulta", cancel_appointment: "Cancelar consulta",
  check_appointment: "Ver consulta marcada", exam_preparation: "Preparo de exame", exam_results: "Resultado de exame",
  exam_schedule: "Agendar exame", exam_info: "Informações de exame", boleto_copy: "Segunda via de boleto",
  payment_info: "Pagamento", ask_price: "Preço", insurance: "Convênio", urgent_symptom: "Sintoma urgente",
  request_human: "Pedir atendente", complain: "Reclamação", greet: "Saudação", goodbye: "Despedida",
  thank: "Agradecimento", clinic_address: "Endereço", clinic_hours: "Horário da clínica",
  clinic_parking: "Estacionamento", clinic_accessibility: "Acessibilidade", affirm: "Confirmação (sim)",
  deny: "Negação (não)", inform: "Informação", consent_accept: "Aceitou a privacidade",
  consent_refuse: "Recusou a privacidade", nlu_fallback: "Não entendida", out_of_scope: "Fora do escopo"
};
export const SLOT_LABELS = {
  specialty: "Especialidade", doctor: "Médico(a)", doctor_id: "Médico(a)", exam: "Exame", insurer: "Convênio",
  unit: "Unidade", name: "Nome", patient_name: "Nome", when: "Quando", date: "Data", time: "Horário",
  slot_id: "Horário escolhido", appointment_id: "Consulta", red_flag: "Sinal de alerta", booking_ctx: "Agendamento",
  plan: "Plano", symptom: "Sintoma", consent: "Consentimento"
};
export const METRICS = { first_response: "1ª resposta", next_response: "Próxima resposta", resolution: "Resolução" };
export const SLA_STATES = { ok: "No prazo", warning: "Atenção", breached: "Estourado" };
export const SENDERS = { patient: "Paciente", bot: "Assistente virtual", agent: "Atendente", system: "Sistema" };
export const MSG_STATUS = { queued: "Na fila de envio", sending: "Enviando…", sent: "Enviada", delivered: "Entregue",
  read: "Lida", failed: "Falha no envio" };
export const ASSIGNED_BY = { least_busy: "distribuição automática", round_robin: "rodízio",
  sticky: "mesmo atendente de antes", transfer: "transferência" };
export const REQUEUE_REASONS = { agent_offline: "o atendente ficou offline", no_answer: "sem resposta do atendente",
  sla_escalation: "escalonamento de SLA", on_call: "encaminhada ao plantão" };
export const APPT_STATUS = { scheduled: "Agendada", confirmed: "Confirmada", cancelled: "Cancelada", done: "Realizada" };
export const ERRORS = {
  network: "Sem conexão com o servidor. Tente de novo.",
  not_assigned: "Assuma a conversa antes de responder.",
  not_assigned_to_you: "A conversa está com outro atendente.",
  illegal_transition: "Essa ação não é possível no estado atual da conversa.",
  forbidden: "Você não tem acesso a esta conversa.",
  reason_required: "Informe o motivo do acesso (de 3 a 300 caracteres).",
  not_found: "Conversa não encontrada.",
  csrf: "Sessão inválida: recarregue a página.",
  not_eligible_not_online: "Fique online para assumir conversas.",
  not_eligible_not_in_queue: "Esta conversa é de uma fila que não é a sua.",
  not_eligible_missing_skills: "Esta conversa pede habilidades que você não tem cadastradas.",
  not_eligible_at_capacity: "Você atingiu o limite de conversas simultâneas.",
  not_eligible_channel_full: "Você atingiu o limite de conversas deste canal.",
  agent_not_online: "O atendente escolhido não está online.",
  agent_at_capacity: "O atendente escolhido está no limite de conversas.",
  agent_channel_full: "O atendente escolhido está no limite deste canal.",
  already_assigned: "A conversa já está com este atendente.",
  window_closed: "A janela de 24 horas do WhatsApp fechou: só é possível enviar um modelo aprovado.",
  invalid_variables: "Preencha todas as variáveis do modelo.",
  unknown_template: "Modelo não encontrado.",
  template_unavailable: "Este modelo não está aprovado neste canal.",
  invalid_tags: "Etiquetas: até 20, com até 32 letras, números, espaço ou hífen.",
  generic: "Não foi possível concluir. Tente de novo."
};
export const T = {
  live: { connecting: "Conectando…", online: "Ao vivo", reconnecting: "Reconectando…", offline: "Sem conexão",
    error: "Sem tempo real (atualiza a cada 10 s)" },
  unnamed: "Paciente sem nome",
  noValue: "—",
  nothingCollected: "Nada coletado",
  noAppointments: "Nenhuma consulta marcada",
  noOtherConversations: "Nenhuma outra conversa",
  consentNone: "Não registrado",
  replyPlaceholder: "Escreva a resposta… (Enter envia, Shift+Enter quebra a linha)",
  notePlaceholder: "Nota interna: só a equipe vê (Enter salva)",
  send: "Enviar",
  claimAndSend: "Assumir e enviar",
  saveNote: "Salvar nota",
  windowClosed: "A janela de 24 horas do WhatsApp fechou: só é possível enviar um modelo aprovado.",
  windowExpired: "O prazo para responder nesta conversa terminou: aguarde uma nova mensagem do paciente.",
  noTemplates: "Nenhum modelo aprovado para este canal.",
  internalNote: "Nota interna",
  newQueueTitle: "Nova conversa na fila",
  assignedTitle: "Conversa atribuída a você",
  patientTitle: "Nova mensagem de paciente",
  today: "Hoje",
  yesterday: "Ontem",
  thisConversation: "Esta conversa",
  otherConversation: "Outra conversa",
  you: "você",
  notificationsBlocked: "As notificações estão bloqueadas neste navegador.",
  deliveryFailed: "Uma mensagem não pôde ser entregue ao paciente.",
  requeued: "Uma conversa sua voltou para a fila",
  slaWarning: "Atenção ao SLA de uma conversa sua.",
  slaBreach: "SLA estourado em uma conversa.",
  csat: function (n) { return "O paciente avaliou o atendimento: " + n + "/5"; },
  nps: function (n) { return "Nota de recomendação do paciente: " + n + "/10"; },
  tooLong: "Mensagem longa demais (máximo de " + MAX_TEXT + " caracteres).",
  counter: function (n) { return n + "/" + MAX_TEXT; }
};
