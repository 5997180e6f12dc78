; Inno Setup script for chatdesk: a per-user install (no administrator rights needed).
; packaging/build.py compiles it with the values below, e.g.
;   iscc /DAppVersion=0.1.0 /DSourceDir=dist\bundle\chatdesk /DOutputDir=dist
;        /DRepoDir=. packaging\windows\chatdesk.iss
; The version comes from pyproject.toml only; compiling without /DAppVersion fails.

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=X.Y.Z (packaging/build.py does)
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\bundle\chatdesk"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif
#ifndef RepoDir
  #define RepoDir "..\.."
#endif
#ifndef NumericVersion
  #define NumericVersion AppVersion
#endif

[Setup]
; AppId identifies the installation for upgrades and the uninstaller: never change it.
AppId={{6F1C2B7E-3D4A-4C8F-9E21-5B7A0D3C9F14}
AppName=chatdesk
AppVersion={#AppVersion}
AppVerName=chatdesk {#AppVersion}
AppPublisher=The chatdesk authors
AppPublisherURL=https://github.com/chatdesk/chatdesk
VersionInfoVersion={#NumericVersion}
VersionInfoProductVersion={#NumericVersion}
; Per-user: {autopf} is %LOCALAPPDATA%\Programs and {autoprograms} the user's Start menu.
PrivilegesRequired=lowest
DefaultDirName={autopf}\chatdesk
DefaultGroupName=chatdesk
DisableProgramGroupPage=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=chatdesk-{#AppVersion}-windows-setup
SetupIconFile={#RepoDir}\resources\chatdesk.ico
UninstallDisplayIcon={app}\chatdesk.exe
UninstallDisplayName=chatdesk
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesEnvironment=yes
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "addtopath"; Description: "Add chatdesk to PATH (use it from a terminal)"; GroupDescription: "Command line:"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; A previous version's files that this one no longer ships.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
; chatdeskw.exe is the same program without a console window.
Name: "{autoprograms}\chatdesk"; Filename: "{app}\chatdeskw.exe"; WorkingDir: "{app}"; Comment: "Chat with many AI providers"
Name: "{autodesktop}\chatdesk"; Filename: "{app}\chatdeskw.exe"; WorkingDir: "{app}"; Tasks: desktopicon

[Registry]
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Tasks: addtopath; Check: NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\chatdeskw.exe"; Description: "{cm:LaunchProgram,chatdesk}"; Flags: nowait postinstall skipifsilent

[Code]
function NeedsAddPath(Dir: string): Boolean;
var
  Path: string;
begin
  if not RegQueryStringValue(HKEY_CURRENT_USER, 'Environment', 'Path', Path) then
  begin
    Result := True;
    exit;
  end;
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Path) + ';') = 0;
end;

procedure RemoveFromPath(Dir: string);
var
  Path: string;
  P: Integer;
begin
  if not RegQueryStringValue(HKEY_CURRENT_USER, 'Environment', 'Path', Path) then
    exit;
  P := Pos(';' + Uppercase(Dir), Uppercase(Path));
  if P = 0 then
    exit;
  Delete(Path, P, Length(Dir) + 1);
  RegWriteExpandStringValue(HKEY_CURRENT_USER, 'Environment', 'Path', Path);
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usPostUninstall then
    RemoveFromPath(ExpandConstant('{app}'));
end;
