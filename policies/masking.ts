/**
 * Which masking rule a grant applies to an item: the grant's setting over the catalog's defaults per
 * sensitive kind (the rules themselves are catalog/masks.ts).
 */
import { DEFAULT_MASKS, type MaskRule } from '../catalog/masks.js';
import type { SensitiveKind } from '../catalog/schema.js';
import type { MaskSetting } from './grant.js';

/**
 * The rule a grant's setting gives for one item: 'none' lifts masking, a custom rule replaces the
 * default, and 'default' (or no setting) masks only sensitive items, by their kind.
 */
export function maskRuleFor(
  setting: MaskSetting | undefined,
  sensitive: SensitiveKind | undefined,
): MaskRule | undefined {
  if (setting === 'none') return undefined;
  if (setting === undefined || setting === 'default') return sensitive ? DEFAULT_MASKS[sensitive] : undefined;
  return { kind: 'keep', keepStart: setting.keepStart, keepEnd: setting.keepEnd, char: setting.char ?? '*' };
}
