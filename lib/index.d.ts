export { nativeVersion } from '../index'
export { Redis } from './redis'
