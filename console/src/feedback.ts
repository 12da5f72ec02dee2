import { ElMessage } from 'element-plus';
import { ApiError } from './api';
import { problemText } from './i18n';

/** Shows a failed call to the person: the API's problem translated by its code, else the error's text. */
export function fail(err: unknown): void {
  ElMessage.error(err instanceof ApiError ? problemText(err.problem) : String(err));
}
