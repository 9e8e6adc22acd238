// Types of @judicial-trust-ledger/verifier (certificate format 2, docs/verification.md).

export type Kind = "judgment" | "enforcement_case" | "defaulter_status" | "notarized_digest";
export type StepName =
  | "format" | "network" | "signature" | "case_number" | "dossier" | "proof" | "document"
  | "chain" | "signer" | "record" | "dossier_chain" | "status";
export type State =
  | "effective" | "under_appeal" | "set_aside" | "superseded" | "satisfied" | "stayed" | "not_yet_recorded"
  | "open" | "terminated" | "concluded" | "not_yet_filed"
  | "active" | "pending" | "removed" | "expired"
  | "anchored";

/** A passed step; `key` and `params` name its catalog message (ledger/messages.json) to render in another language. */
export interface Step { name: StepName; ok: true; detail: string; key: string; params: Record<string, unknown> }

export interface TrustedContract { address: string; artifact_digest: string }
export interface NetworkDescriptor {
  name: string;
  chain_id: number;
  genesis_hash: string;
  contracts: Record<string, TrustedContract>;
  governor: string;
  signature: string;
}

/** A JSON-RPC URL, or a function that performs one call. */
export type Rpc = string | ((method: string, params: unknown[]) => Promise<any>);

export interface VerifyOptions {
  /** Descriptors accepted by trustDescriptors (signed by a pinned governance key). */
  trusted: NetworkDescriptor[];
  /** Verify online against this node; offline when absent. */
  rpc?: Rpc;
  /** The document the certificate speaks of (its SHA-256 is compared). */
  document?: Uint8Array;
  /** Or its SHA-256, 0x-hex. */
  documentDigest?: string;
  /** Answer "in force" as of this unix time instead of now (online). */
  at?: number;
  /** Language of step details, reasons and claims: "en" (default), "zh" or "fr" (ledger/messages.json). */
  lang?: "en" | "zh" | "fr";
}

export interface VerificationResult {
  verified: true;
  /** Written by a valid signer of that court, as certified; null offline (not established). */
  authentic: boolean | null;
  /** In force now (or at `at`); null offline. */
  in_force: boolean | null;
  state: State | null;
  at: number | null;
  kind: Kind;
  record_id: string;
  online: boolean;
  network: string;
  steps: Step[];
  status: Record<string, unknown>;
  proves: string[];
  does_not_prove: string[];
  /** As `ledger verify`: 0 in force, 3 authentic but not in force, 4 offline only. */
  exit_code: 0 | 3 | 4;
  /** A judgment's dossier (Hague 2019 art. 12), when the certificate carries one (docs/verification.md 2.7). */
  dossier?: Dossier;
  /** A judgment's effect and enforceability in the State of origin, in the asked language (online only). */
  effect?: string;
}

export interface Dossier {
  sequence: number;
  /** The filing court. */
  court: number;
  by_default: boolean;
  complete_copy: string;
  proof_of_service: { required: boolean; present: boolean; digest: string | null };
  translations: { language: string; digest: string }[];
  /** The Dossier struct's EIP-712 hash (what dossierOf names as the latest). */
  dossier_hash: string;
}

export class VerificationError extends Error {
  constructor(step: StepName, reason: string, steps?: Step[]);
  step: StepName;
  reason: string;
  /** The steps that passed before the failure. */
  steps: Step[];
}

/** Verify a certificate (JSON text or parsed object); rejects with VerificationError naming the failed step. */
export function verifyCertificate(certificate: string | object, options: VerifyOptions): Promise<VerificationResult>;
/** Parse and check a certificate, or a W3C Verifiable Credential carrying one (step format); throws VerificationError. */
export function parseCertificate(certificate: string | object): { cert: any; recordId: Uint8Array; credential?: boolean };
/** A credential's certificate, once every member of the credential is shown to be the one the certificate determines. */
export function certificateFromCredential(credential: object): any;
/** The W3C Verifiable Credential (VC 2.0) of a format-2 certificate, with its BitstringStatusListEntry members. */
export function credential(certificate: object, status?: object[]): object;
/** Whether parsed JSON is presented as a Verifiable Credential (it has an `@context`). */
export function isCredential(data: unknown): boolean;
/** A catalog message ({key, params}) or plain text, in en, zh or fr. */
export function render(message: string | { key: string; params: Record<string, unknown> }, lang?: string): string;
/** A verification message (ledger/messages.json) in en, zh or fr; other languages fall back to en. */
export function text(key: string, lang?: string, params?: Record<string, unknown>): string;
export const messages: Record<string, { en: string; zh: string; fr: string }>;
/** Accept descriptors signed (EIP-191 over RFC 8785 JSON) by one of the pinned governance addresses; throws otherwise. */
export function trustDescriptors(descriptors: NetworkDescriptor[], governors: string[]): NetworkDescriptor[];
/** The bytes a governor signs: RFC 8785 canonical JSON of every field but `signature`. */
export function descriptorBody(descriptor: NetworkDescriptor): Uint8Array;
/** RFC 8785 canonical JSON (UTF-8) of objects, arrays, strings, integers, booleans and null. */
export function jcs(value: unknown): Uint8Array;
/** The case number's normal form: NFKC, White_Space deleted, Cc/Cf/Cs/Co/Cn refused. */
export function normaliseCaseNumber(text: string): string;
/** Why a 65-byte r||s||v signature is not canonical (low s, v 27/28), or null. */
export function canonicalSignatureProblem(signature: Uint8Array): string | null;
export function recoverAddress(digest: Uint8Array, signature: Uint8Array): string;
export function checksumAddress(address: string): string;
export function caseReplay(actions: object[]): [string, bigint];
export function listingRestricted(listing: { listed_at: number }, at: number, until: number, removedAt?: number | null): boolean;
export function listingState(listedAt: number, until: number, removedAt: number | null, at: number): "removed" | "pending" | "active" | "expired";
export const EXIT_CODES: { in_force: 0; not_authentic: 1; not_in_force: 3; offline: 4 };
export const certificateSchema: object;
export const descriptorSchema: object;
