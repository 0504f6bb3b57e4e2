// vitest runs the *.spec.ts files; jest runs the *.test.ts ones (jest.config.json).
export default { test: { include: ['**/*.spec.ts'] } };
