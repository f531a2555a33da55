// Interface strings. `data-lang` picks the first language; the widget switches when the assistant
// says the conversation changed language, so labels and the `lang` attribute (which screen readers
// use for pronunciation) follow the conversation.

export const STRINGS = {
  en: {
    open: "Open chat with {title}",
    openUnread: "Open chat with {title}, {count} unread",
    close: "Close chat",
    endChat: "End chat and clear",
    endChatLabel: "End chat and clear it from this browser",
    endConfirm: "End this chat? It is cleared from this browser and a new chat starts.",
    endYes: "End and clear",
    endNo: "Cancel",
    conversation: "Conversation",
    inputLabel: "Your message",
    placeholder: "Type your question…",
    send: "Send",
    you: "You said:",
    bot: "Assistant said:",
    typing: "The assistant is typing",
    suggested: "Suggested replies",
    connecting: "Connecting…",
    reconnecting: "Reconnecting… Your messages will be sent when the connection is back.",
    offline: "Offline. Your messages will be sent when the connection is back.",
    queued: "Waiting for connection",
    unconfirmed: "No reply received.",
    retry: "Send again",
    charsLeft: "{count} characters left",
    newTab: "opens in a new tab",
    newMessage: "New message from the assistant",
    disclaimer: "Automated assistant, not medical advice. In an emergency, call 911.",
    image: "Open image",
    greeting:
      "Hi! I'm the virtual assistant of {title}. Ask me about sciatica, physical therapy or our clinic.",
  },
  es: {
    open: "Abrir el chat con {title}",
    openUnread: "Abrir el chat con {title}, {count} sin leer",
    close: "Cerrar el chat",
    endChat: "Terminar y borrar",
    endChatLabel: "Terminar y borrar el chat de este navegador",
    endConfirm: "¿Terminar este chat? Se borra de este navegador y empieza un chat nuevo.",
    endYes: "Terminar y borrar",
    endNo: "Cancelar",
    conversation: "Conversación",
    inputLabel: "Su mensaje",
    placeholder: "Escriba su pregunta…",
    send: "Enviar",
    you: "Usted dijo:",
    bot: "El asistente dijo:",
    typing: "El asistente está escribiendo",
    suggested: "Respuestas sugeridas",
    connecting: "Conectando…",
    reconnecting: "Reconectando… Sus mensajes se enviarán cuando vuelva la conexión.",
    offline: "Sin conexión. Sus mensajes se enviarán cuando vuelva la conexión.",
    queued: "Esperando la conexión",
    unconfirmed: "No se recibió respuesta.",
    retry: "Enviar de nuevo",
    charsLeft: "Quedan {count} caracteres",
    newTab: "se abre en una pestaña nueva",
    newMessage: "Nuevo mensaje del asistente",
    disclaimer: "Asistente automático, no es consejo médico. En una emergencia, llame al 911.",
    image: "Abrir imagen",
    greeting:
      "¡Hola! Soy el asistente virtual de {title}. Pregúnteme sobre la ciática, la terapia física o nuestra clínica.",
  },
};

/**
 * Returns a translator for `lang` ("es-MX" falls back to "es", unknown languages to "en").
 * @param {string} lang
 * @returns {(key: string, vars?: Record<string, string|number>) => string}
 */
export function translator(lang) {
  const base = String(lang || "en").toLowerCase().split("-")[0];
  const table = STRINGS[base] || STRINGS.en;
  return (key, vars = {}) =>
    String(table[key] ?? STRINGS.en[key] ?? key).replace(/\{(\w+)\}/g, (_, name) =>
      name in vars ? String(vars[name]) : `{${name}}`,
    );
}

export function languageOf(lang) {
  const base = String(lang || "en").toLowerCase().split("-")[0];
  return STRINGS[base] ? base : "en";
}
