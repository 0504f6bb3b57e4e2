/** Run by capabilities.test.ts under NODE_DEBUG=axios-reset-guard: an axios limit told twice, then none. */
import { capabilitiesOf, http2Limit } from '../../src/capabilities';
import { announceAxiosLimit } from '../../src/events';

announceAxiosLimit(http2Limit(capabilitiesOf('1.13.6')));
announceAxiosLimit(http2Limit(capabilitiesOf('1.13.6')));
announceAxiosLimit(http2Limit(capabilitiesOf('1.21.1')));
