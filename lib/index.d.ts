export { nativeVersion } from '../index'
