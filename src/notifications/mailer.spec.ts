let mockNodemailerLoads = 0;
const mockSendMail = jest.fn(async () => ({}));
jest.mock('nodemailer', () => {
  mockNodemailerLoads += 1;
  return { createTransport: () => ({ sendMail: mockSendMail, close: () => undefined }) };
});

const message = { to: ['office@example.org'], subject: 's', text: 't', messageId: '<d-1@docket>', headers: {} };

/** The mailer module from a fresh module registry, so that whatever it imports is loaded (and counted) again. */
function freshMailer(): typeof import('./mailer') {
  let mod!: typeof import('./mailer');
  jest.isolateModules(() => {
    mod = require('./mailer');
  });
  return mod;
}

describe('SmtpMailer', () => {
  beforeEach(() => {
    mockNodemailerLoads = 0;
    mockSendMail.mockClear();
  });

  it('does not load nodemailer for a service without e-mail', async () => {
    const mailer = new (freshMailer().SmtpMailer)({ timeoutMs: 1000 });
    expect(mailer.configured).toBe(false);
    await expect(mailer.send(message)).rejects.toThrow(/not configured/);
    await mailer.close();
    expect(mockNodemailerLoads).toBe(0);
  });

  it('loads nodemailer with the first message and keeps one transport for the next ones', async () => {
    const mailer = new (freshMailer().SmtpMailer)({ smtpUrl: 'smtp://127.0.0.1:2525', mailFrom: 'docket@example.org', timeoutMs: 1000 });
    expect(mockNodemailerLoads).toBe(0);
    await mailer.send(message);
    await mailer.send({ ...message, messageId: '<d-2@docket>' });
    expect(mockNodemailerLoads).toBe(1);
    expect(mockSendMail).toHaveBeenCalledTimes(2);
    expect(mockSendMail).toHaveBeenLastCalledWith(expect.objectContaining({ from: 'docket@example.org', messageId: '<d-2@docket>' }));
  });
});
