/**
 * Every error the catalog throws. Codes are stable (clients and the gateway's problem details rely on
 * them); the status is the HTTP status the gateway maps each to. Throw with a message that tells the
 * caller what to fix, e.g. `new CatalogKeyRequired('items: mark at least one item as key')`.
 */
import { createError } from '@fastify/error';

export const CatalogEntryInvalid = createError('CATALOG_ENTRY_INVALID', '%s', 422);
export const CatalogLegalBasisRequired = createError('CATALOG_LEGAL_BASIS_REQUIRED', '%s', 422);
export const CatalogBaseItemRestricted = createError('CATALOG_BASE_ITEM_RESTRICTED', '%s', 422);
export const CatalogBaseKeyNotIdentifier = createError('CATALOG_BASE_KEY_NOT_IDENTIFIER', '%s', 422);
export const CatalogItemDuplicate = createError('CATALOG_ITEM_DUPLICATE', '%s', 422);
export const CatalogKeyRequired = createError('CATALOG_KEY_REQUIRED', '%s', 422);
export const CatalogControlParamUnknown = createError('CATALOG_CONTROL_PARAM_UNKNOWN', '%s', 422);
export const CatalogWatermarkUnknown = createError('CATALOG_WATERMARK_UNKNOWN', '%s', 422);
export const CatalogCodeMismatch = createError('CATALOG_CODE_MISMATCH', '%s', 422);
export const CatalogServiceRequired = createError('CATALOG_SERVICE_REQUIRED', '%s', 422);
export const CatalogIllegalTransition = createError('CATALOG_ILLEGAL_TRANSITION', '%s', 409);
export const CatalogNotOwner = createError('CATALOG_NOT_OWNER', '%s', 403);
export const CatalogForbidden = createError('CATALOG_FORBIDDEN', '%s', 403);
export const CatalogExists = createError('CATALOG_EXISTS', '%s', 409);
export const CatalogNotFound = createError('CATALOG_NOT_FOUND', '%s', 404);
export const CatalogProviderUnknown = createError('CATALOG_PROVIDER_UNKNOWN', '%s', 422);
export const CatalogCodeImmutable = createError('CATALOG_CODE_IMMUTABLE', '%s', 422);
export const CatalogReasonRequired = createError('CATALOG_REASON_REQUIRED', '%s', 422);
export const CatalogEffectiveDateInvalid = createError('CATALOG_EFFECTIVE_DATE_INVALID', '%s', 422);
export const CatalogConflict = createError('CATALOG_CONFLICT', '%s', 409);
export const CatalogQueryInvalid = createError('CATALOG_QUERY_INVALID', '%s', 422);
export const CatalogImportInvalid = createError('CATALOG_IMPORT_INVALID', '%s', 422);
export const CatalogClassified = createError('CATALOG_CLASSIFIED', '%s', 422);
export const CatalogConfidentialityUnreviewed = createError(
  'CATALOG_CONFIDENTIALITY_REVIEW_REQUIRED',
  '%s',
  422,
);
export const CatalogItemSourceInvalid = createError('CATALOG_ITEM_SOURCE_INVALID', '%s', 422);
export const CatalogItemSourceTaken = createError('CATALOG_ITEM_SOURCE_TAKEN', '%s', 409);
export const CatalogArbitrationNotFound = createError('CATALOG_ARBITRATION_NOT_FOUND', '%s', 404);

export const catalogErrors = {
  CatalogEntryInvalid,
  CatalogLegalBasisRequired,
  CatalogBaseItemRestricted,
  CatalogBaseKeyNotIdentifier,
  CatalogItemDuplicate,
  CatalogKeyRequired,
  CatalogControlParamUnknown,
  CatalogWatermarkUnknown,
  CatalogCodeMismatch,
  CatalogServiceRequired,
  CatalogIllegalTransition,
  CatalogNotOwner,
  CatalogForbidden,
  CatalogExists,
  CatalogNotFound,
  CatalogProviderUnknown,
  CatalogCodeImmutable,
  CatalogReasonRequired,
  CatalogEffectiveDateInvalid,
  CatalogConflict,
  CatalogQueryInvalid,
  CatalogImportInvalid,
  CatalogClassified,
  CatalogConfidentialityUnreviewed,
  CatalogItemSourceInvalid,
  CatalogItemSourceTaken,
  CatalogArbitrationNotFound,
};

export const catalogErrorDocs: Record<string, string> = {
  CATALOG_ENTRY_INVALID:
    'The entry does not match the catalog entry schema; the message names the JSON pointer.',
  CATALOG_LEGAL_BASIS_REQUIRED:
    'A conditional or not-shared entry or item must cite its legal basis in share.legalBasis ([HB-S] 8(1), [HC-R] 25).',
  CATALOG_BASE_ITEM_RESTRICTED:
    'Every item of a base resource is shared unconditionally: neither the entry nor an item may be conditional or not shared ([HB-S] 8(2), [HC-R] 26).',
  CATALOG_BASE_KEY_NOT_IDENTIFIER:
    'The key item of a base resource must be a resident ID number or a unified social credit code (sensitive: idNumber or uscc) ([HC-R] 19).',
  CATALOG_ITEM_DUPLICATE: 'Two items of the entry have the same name.',
  CATALOG_KEY_REQUIRED: 'The entry has no key item; mark the item(s) rows are looked up by with key: true.',
  CATALOG_CONTROL_PARAM_UNKNOWN: 'share.controlParams names an item the entry does not have.',
  CATALOG_WATERMARK_UNKNOWN: 'service.watermark names an item the entry does not have.',
  CATALOG_CODE_MISMATCH:
    'The classification code does not fit the category (1 base, 2 theme, 3 department) or the resource code does not start with it.',
  CATALOG_SERVICE_REQUIRED:
    'An entry can be submitted for publication only with a mounted data service ([HB-S] 11).',
  CATALOG_ILLEGAL_TRANSITION:
    'The action is not allowed in the current state of the version or the resource.',
  CATALOG_NOT_OWNER: "Only an administrator of the provider department may change the department's entries.",
  CATALOG_FORBIDDEN: 'The role of the caller may not perform this catalog action.',
  CATALOG_EXISTS: 'A resource with this code is already registered.',
  CATALOG_NOT_FOUND: 'No such resource or version, or it is not visible to the caller.',
  CATALOG_PROVIDER_UNKNOWN: 'The provider is not a department registered on the platform.',
  CATALOG_CODE_IMMUTABLE: 'The resource code and the provider of an entry cannot change between versions.',
  CATALOG_REASON_REQUIRED: 'Rejecting, suspending and withdrawing need a stated reason.',
  CATALOG_EFFECTIVE_DATE_INVALID:
    'effectiveFrom is not a date (YYYY-MM-DD) or date-time with zone, lies in the past, or is not in advance for a withdrawal.',
  CATALOG_CONFLICT: 'The resource kept changing under concurrent writers; retry the action.',
  CATALOG_QUERY_INVALID: 'A catalog search parameter is out of range or unknown.',
  CATALOG_IMPORT_INVALID:
    'The import file is not a catalog export or an array of entries; the message names the entry.',
  CATALOG_CLASSIFIED:
    'The confidentiality review marks the resource classified (涉密): it can never be submitted, published or imported ([HB-S] 3; [HC-R] 21, 39).',
  CATALOG_CONFIDENTIALITY_REVIEW_REQUIRED:
    'A resource is submitted for publication or imported without its confidentiality review (保密审查: result, reviewer, date); every resource passes one before publication ([HB-S] 3; [HC-R] 21, 39).',
  CATALOG_ITEM_SOURCE_INVALID:
    'An item says source: true without a semanticId, or two items of one entry share a semanticId (一数一源, [HB-S] 14).',
  CATALOG_ITEM_SOURCE_TAKEN:
    'Another resource is already the authoritative source of the item (一数一源, [HB-S] 14; [HC-R] 18): reuse it (source: false), or ask the bureau to arbitrate.',
  CATALOG_ARBITRATION_NOT_FOUND: 'No open arbitration of an item source has this id.',
};
