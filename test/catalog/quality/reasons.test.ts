import t from 'tap';
import { checkUscc } from '../../../catalog/identifiers.js';
import { safeReason } from '../../../catalog/quality/reasons.js';

t.test(
  'a credit code registered in the past with a wrong organisation-code check is reported as such',
  async (t) => {
    // GB 32100 check character right, GB 11714 check character (position 17) wrong.
    const result = checkUscc('91350100M000100Y56');
    t.equal(result.ok, false);
    if (result.ok) return;
    t.equal(result.position, 17);
    const reason = safeReason('uscc', result);
    t.equal(reason, 'character 17 does not match the organisation code (characters 9-16, GB 11714)');
    t.notMatch(reason, /M000100Y/, 'the report does not quote the code');
  },
);
