// embeddingProblem says on the page why embedding stopped. The vault's
// error is written for a terminal (it names `cairn pull`); a model that is
// not pulled is said in the page's own terms, since Settings pulls it.
export function embeddingProblem(model: string | undefined, lastError: string | undefined): string {
  if (!lastError) return "";
  if (/not (found|pulled)|not on /i.test(lastError)) {
    return `The embedding model ${model ?? ""} is not pulled yet: pull it in Settings → Models, and search by meaning starts.`.replace("  ", " ");
  }
  return lastError.replace(/`cairn [^`]*`/g, "Settings → Models");
}
