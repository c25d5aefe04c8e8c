export { CHANGE_EVENTS_CHANNEL, ChangeEvents, parseChangeEvent, type ChangeEvent, type ChangeTopic } from './change-events';
export { EventsModule } from './events.module';
