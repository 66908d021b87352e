// What this model can take from an OpenAI message list: one image (an image_url part with a data: URL,
// in any user message) and one question (the text of the last user message; the caption question when
// it has none). System and assistant turns are accepted and ignored: the model answers single questions.
import { badRequest } from "../errors";
import type { ChatMessage } from "../schemas/chat";

/** The question asked when a request brings only an image (the caption family of ShapesVQA). */
export const DEFAULT_QUESTION = "what is in the image?";

/** The request's image URL (with the param path naming it) and question. */
export interface Conversation {
  imageUrl: string;
  imageParam: string;
  question: string;
}

/** Picks the image and the question out of `messages`; 400 when there is not exactly one image. */
export function readMessages(messages: readonly ChatMessage[]): Conversation {
  const images: { url: string; param: string }[] = [];
  let question: string | null = null;
  messages.forEach((m, i) => {
    if (m.role !== "user") return;
    if (typeof m.content === "string" || m.content === null) {
      question = m.content ?? "";
      return;
    }
    const texts: string[] = [];
    m.content.forEach((p, j) => {
      if (p.type === "text") texts.push(p.text);
      else {
        const url = typeof p.image_url === "string" ? p.image_url : p.image_url.url;
        images.push({ url, param: `messages[${i}].content[${j}].image_url` });
      }
    });
    question = texts.join(" ");
  });
  if (images.length === 0) {
    throw badRequest(
      "This model answers questions about an image: add an image_url content part with a data: URL",
      "image_required",
      "messages",
    );
  }
  if (images.length > 1) {
    throw badRequest(
      `One image per request is supported, got ${images.length}`,
      "too_many_images",
      images[1].param,
    );
  }
  const q = (question ?? "").trim();
  return { imageUrl: images[0].url, imageParam: images[0].param, question: q || DEFAULT_QUESTION };
}
