// How ts-proto names things, so our generated files import what it emits.
import type { DescEnum, DescFile, DescMessage, DescMethod, DescService } from '@bufbuild/protobuf';

/** `helloworld/v1/greeter.proto` -> `helloworld/v1/greeter` */
export function fileStem(file: DescFile): string {
  return file.proto.name.replace(/\.proto$/, '');
}

/** ts-proto's export name: nested types are joined with `_` (`Outer_Inner`). */
export function tsTypeName(desc: DescMessage | DescEnum): string {
  const pkg = desc.file.proto.package;
  const local = pkg ? desc.typeName.slice(pkg.length + 1) : desc.typeName;
  return local.replace(/\./g, '_');
}

/** ts-proto's key for a method in the service definition: lower camel case. */
export function methodKey(method: DescMethod): string {
  return method.name.charAt(0).toLowerCase() + method.name.slice(1);
}

/** gRPC full method name, the operation for both transports. */
export function operationName(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

export function serviceConstName(service: DescService): string {
  return `${service.name}Service`;
}
