export * from './member-table';
